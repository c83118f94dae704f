//! The builders' errors. Each keeps its code and help through realisation: the store wraps it
//! in a [`kiln_store::BuildError`] instead of flattening it to text.

use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum BuilderError {
    /// An attribute is missing, ill-typed, or names a path outside the derivation's inputs.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Input(#[from] kiln_store::inputs::InputError),

    /// The image writers' own errors (cpio, ISO 9660, FAT, squashfs, kernel modules).
    #[error(transparent)]
    #[diagnostic(transparent)]
    Image(#[from] kiln_image::ImageError),

    #[error("cannot {action} `{}`: {source}", path.display())]
    #[diagnostic(code(kiln::builders::io))]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// The derivation asks for something its builder cannot do.
    #[error("{message}")]
    #[diagnostic(code(kiln::builders::invalid))]
    Invalid { message: String },

    /// A program a builder runs failed or could not be started.
    #[error("{message}")]
    #[diagnostic(code(kiln::builders::program))]
    Program { message: String },

    /// The sandbox cannot be set up here (no bwrap, no privilege to make namespaces).
    #[error("{message}")]
    #[diagnostic(
        code(kiln::builders::sandbox),
        help("kiln runs build programs in bubblewrap's namespaces: apt-get install bubblewrap, and run kiln as root or where unprivileged user namespaces are enabled")
    )]
    Sandbox { message: String },

    /// A program in the sandbox failed; `log` is the tail of its output.
    #[error("{what} failed ({status}):\n{log}")]
    #[diagnostic(code(kiln::builders::sandboxed_program))]
    SandboxedProgram {
        what: String,
        status: String,
        log: String,
    },

    /// Building an out-of-tree kernel module failed; the message carries the log's tail.
    #[error("kbuild-module `{name}`: {message}")]
    #[diagnostic(code(kiln::builders::kbuild))]
    Kbuild { name: String, message: String },

    /// Signing out-of-tree kernel modules (`boot.moduleSigning`) failed.
    #[error("sign-modules `{name}`: {message}")]
    #[diagnostic(code(kiln::builders::sign_modules))]
    SignModules { name: String, message: String },

    /// A Debian maintainer script failed while dpkg configured a root; `log` is that script's
    /// part of dpkg's output.
    #[error(
        "configuring the Debian root failed: the maintainer script of {packages} failed:\n{log}"
    )]
    #[diagnostic(
        code(kiln::builders::maintainer_script),
        help("the package's script failed inside kiln's sandbox, where services do not start and there is no network; drop the package from the profile, or report the failure with the output above")
    )]
    MaintainerScript { packages: String, log: String },

    /// A user names a group that neither `users.groups` nor Debian's packages define.
    #[error("users.users.{user}.{what} names the group `{group}`, which neither `users.groups` nor a Debian package of the system defines")]
    #[diagnostic(
        code(kiln::builders::unknown_group),
        help("declare it (`users.groups.{group} = {{ }};`), or use one of the groups Debian's packages make (`sudo`, `audio`, `video`, `netdev`, ...)")
    )]
    UnknownGroup {
        user: String,
        group: String,
        what: String,
    },

    /// A source read at evaluation time is not in this process (a kiln bug, or a derivation
    /// written by hand with the internal `copy-path` builder).
    #[error("the source `{name}` was not read in this evaluation")]
    #[diagnostic(
        code(kiln::builders::unknown_source),
        help("`copy-path` derivations are made by kiln when it adds a path to the store; write a path value (`./file`) instead")
    )]
    UnknownSource { name: String },
}

pub(crate) type Result<T, E = BuilderError> = std::result::Result<T, E>;

impl BuilderError {
    pub(crate) fn io(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.to_path_buf();
        move |source| BuilderError::Io {
            action,
            path,
            source,
        }
    }

    pub(crate) fn invalid(message: impl Into<String>) -> BuilderError {
        BuilderError::Invalid {
            message: message.into(),
        }
    }
}

impl From<BuilderError> for kiln_store::BuildError {
    fn from(err: BuilderError) -> kiln_store::BuildError {
        kiln_store::BuildError::new(err)
    }
}
