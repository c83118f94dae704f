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
