//! The driver's errors: each phase's own, plus the driver's I/O.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum DriverError {
    /// An evaluation error; render it with the evaluator's sources (`kiln_module::report`).
    #[error("{0}")]
    #[diagnostic(code(kiln::eval))]
    Eval(kiln_eval::EvalError),
    #[error(transparent)]
    #[diagnostic(transparent)]
    Store(#[from] kiln_store::StoreError),
    #[error(transparent)]
    #[diagnostic(transparent)]
    Debian(#[from] kiln_debian::DebianError),
    #[error("failed assertions:\n{}", failed.iter().map(|m| format!("- {m}")).collect::<Vec<_>>().join("\n"))]
    #[diagnostic(
        code(kiln::driver::assertions),
        help("the profile's `assertions` state what the configuration needs; change the options they name")
    )]
    Assertions { failed: Vec<String> },
    /// `--check` rebuilt a step and its builder failed.
    #[error("cannot check `{name}`: building it again failed")]
    #[diagnostic(code(kiln::driver::check))]
    Check {
        name: String,
        #[source]
        #[diagnostic_source]
        source: kiln_store::BuildError,
    },
    #[error("cannot check `{name}`: it is not in the store yet")]
    #[diagnostic(code(kiln::driver::not_built), help("build it first, then check it"))]
    NotBuilt { name: String },
    #[error("refusing to replace `{}`: it is {what}, not a result link kiln made", path.display())]
    #[diagnostic(
        code(kiln::driver::out_link_taken),
        help("remove it, or name another link with `-o`")
    )]
    OutLinkTaken { path: PathBuf, what: String },
    #[error("the embedded profile library's lock is read-only")]
    #[diagnostic(
        code(kiln::driver::embedded_lock),
        help("copy the profile into a directory of your own; `kiln lock` then writes a kiln.lock beside it")
    )]
    EmbeddedLock,
    #[error("cannot {action} `{}`: {source}", path.display())]
    #[diagnostic(code(kiln::driver::io))]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
}

impl DriverError {
    pub(crate) fn io(
        action: &'static str,
        path: &std::path::Path,
        source: std::io::Error,
    ) -> DriverError {
        DriverError::Io {
            action,
            path: path.to_path_buf(),
            source,
        }
    }
}

impl From<kiln_eval::EvalError> for DriverError {
    fn from(err: kiln_eval::EvalError) -> DriverError {
        DriverError::Eval(err)
    }
}

/// The store host's own errors (the store's are [`kiln_store::StoreError`]): a store path that
/// evaluation reads but nothing has written, and `builtins.fetchGit`'s. They reach the user as
/// evaluation errors (`host::host_error`), with these codes and helps; the first line is nix
/// 2.8's wording where nix has one.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub(crate) enum HostError {
    #[error("path '{path}' is not valid")]
    #[diagnostic(code(kiln::driver::invalid_path), help("{help}"))]
    InvalidPath { path: String, help: &'static str },
    #[error("`fetchGit` needs the `git` program, and there is none on PATH")]
    #[diagnostic(
        code(kiln::driver::git_missing),
        help("install Git (Debian's `git` package); kiln runs it as nix 2.8 does, on local repositories only")
    )]
    GitMissing,
    /// nix's wording: `program 'git' failed with exit code 128`.
    #[error("program 'git' {status}")]
    #[diagnostic(code(kiln::driver::git_failed), help("`{command}` said:\n{stderr}"))]
    GitFailed {
        command: String,
        status: String,
        stderr: String,
    },
    /// A `fetchGit` error in nix 2.8's words (`Cannot find Git revision …`).
    #[error("{message}")]
    #[diagnostic(code(kiln::driver::fetch_git))]
    FetchGit { message: String },
    #[error("a submodule of '{path}' is not a local repository, and kiln fetches nothing from the network")]
    #[diagnostic(
        code(kiln::driver::remote_submodule),
        help("kiln's network reaches only package registries; git said:\n{stderr}")
    )]
    RemoteSubmodule { path: String, stderr: String },
    #[error("cannot {action} '{path}': {source}")]
    #[diagnostic(code(kiln::driver::io))]
    Io {
        action: &'static str,
        path: String,
        source: std::io::Error,
    },
}
