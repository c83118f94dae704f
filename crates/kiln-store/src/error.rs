//! Errors of the store and of realisation.

use std::path::PathBuf;

pub type StoreResult<T> = Result<T, StoreError>;

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum StoreError {
    #[error("cannot {action} `{path}`: {source}")]
    #[diagnostic(code(kiln::store::io))]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("`{name}` is not a valid store entry name")]
    #[diagnostic(
        code(kiln::store::invalid_name),
        help("names are 1 to 200 characters from `A-Za-z0-9+-._?=`, and do not start with `.`")
    )]
    InvalidName { name: String },

    #[error("the store entry `{entry}` has a damaged record: {reason}")]
    #[diagnostic(
        code(kiln::store::bad_record),
        help("`kiln store verify --repair` removes damaged entries")
    )]
    BadRecord { entry: String, reason: String },

    #[error("`{name}`: expected content {expected}, got {actual}")]
    #[diagnostic(code(kiln::store::hash_mismatch))]
    HashMismatch {
        name: String,
        expected: String,
        actual: String,
    },

    /// A builder failed; its own diagnostic (code, help) is kept as the source.
    #[error("building `{name}` failed")]
    #[diagnostic(code(kiln::store::build_failed))]
    BuildFailed {
        name: String,
        #[source]
        #[diagnostic_source]
        source: BuildError,
    },

    #[error("no builder named `{builder}` (needed by `{name}`)")]
    #[diagnostic(code(kiln::store::unknown_builder))]
    UnknownBuilder { builder: String, name: String },

    #[error("the derivation graph has a cycle through `{name}`")]
    #[diagnostic(code(kiln::store::cycle))]
    Cycle { name: String },

    #[error("`{name}` depends on a derivation that is not in the graph")]
    #[diagnostic(code(kiln::store::missing_input))]
    MissingInput { name: String },

    #[error("offline: {} entries are not in the store: {}", missing.len(), missing.join(", "))]
    #[diagnostic(
        code(kiln::store::offline_missing),
        help("run the build once without --offline")
    )]
    OfflineMissing { missing: Vec<String> },

    #[error("the store at `{}` is open read-only (a dry run), so nothing can be added to it", root.display())]
    #[diagnostic(code(kiln::store::read_only))]
    ReadOnly { root: PathBuf },

    /// The disk filled up (`ENOSPC`) while a step was built or registered. What was written
    /// is removed; nothing was registered.
    #[error("no space left on device (ENOSPC) while building `{name}`: {detail}")]
    #[diagnostic(
        code(kiln::store::no_space),
        help("free space on the store's file system (`kiln store gc` removes what no result keeps alive) and build again; nothing half-written was kept")
    )]
    NoSpace { name: String, detail: String },

    #[error("{} of the steps failed", failures.len())]
    #[diagnostic(code(kiln::store::failed_steps))]
    Failed {
        #[related]
        failures: Vec<StoreError>,
    },
}

impl StoreError {
    /// A builder's failure; a full disk anywhere in its cause becomes [`StoreError::NoSpace`].
    pub(crate) fn build_failed(name: &str, source: BuildError) -> StoreError {
        if is_no_space(&source) {
            let mut detail = source.to_string();
            let mut cause: Option<&dyn std::error::Error> = std::error::Error::source(&source);
            while let Some(err) = cause {
                detail.push_str(": ");
                detail.push_str(&err.to_string());
                cause = err.source();
            }
            return StoreError::NoSpace {
                name: name.to_string(),
                detail,
            };
        }
        StoreError::BuildFailed {
            name: name.to_string(),
            source,
        }
    }

    /// As [`StoreError::io`] for a step's own files: a full disk names the step.
    pub(crate) fn io_in(
        name: &str,
        action: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(std::io::Error) -> StoreError {
        let (name, path) = (name.to_string(), path.into());
        move |source| {
            if source.raw_os_error() == Some(ENOSPC) {
                StoreError::NoSpace {
                    name,
                    detail: format!("cannot {action} `{}`: {source}", path.display()),
                }
            } else {
                StoreError::Io {
                    action,
                    path,
                    source,
                }
            }
        }
    }

    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(std::io::Error) -> StoreError {
        let path = path.into();
        move |source| StoreError::Io {
            action,
            path,
            source,
        }
    }
}

/// `ENOSPC` on Linux.
const ENOSPC: i32 = 28;

/// Whether a full disk caused `error`: an `io::Error` with `ENOSPC` in its chain, or a message
/// that kept only the text of one.
fn is_no_space(error: &BuildError) -> bool {
    let mut cause: Option<&dyn std::error::Error> = Some(error);
    while let Some(err) = cause {
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            if io.raw_os_error() == Some(ENOSPC) {
                return true;
            }
        }
        if err.to_string().contains("(os error 28)") {
            return true;
        }
        cause = err.source();
    }
    false
}

/// Why a builder failed. Builders live in other crates (kiln-debian, kiln-builders) with their
/// own error enums; this keeps their codes and help text through realisation instead of
/// flattening them into a string.
#[derive(Debug)]
pub struct BuildError(Box<dyn miette::Diagnostic + Send + Sync + 'static>);

impl BuildError {
    /// Wraps any diagnostic.
    pub fn new(diagnostic: impl miette::Diagnostic + Send + Sync + 'static) -> BuildError {
        BuildError(Box::new(diagnostic))
    }

    /// A failure without a code of its own (`kiln::store::builder`).
    pub fn message(text: impl Into<String>) -> BuildError {
        BuildError::new(Message(text.into()))
    }

    /// The underlying diagnostic.
    pub fn diagnostic(&self) -> &(dyn miette::Diagnostic + Send + Sync + 'static) {
        &*self.0
    }

    /// The underlying diagnostic, if it is a `T` (an [`crate::inputs::InputError`], say).
    pub fn downcast_ref<T: std::error::Error + 'static>(&self) -> Option<&T> {
        let error: &(dyn std::error::Error + 'static) = &*self.0;
        error.downcast_ref::<T>()
    }
}

impl std::fmt::Display for BuildError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(&self.0, f)
    }
}

impl std::error::Error for BuildError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}

impl miette::Diagnostic for BuildError {
    fn code<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        self.0.code()
    }
    fn help<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        self.0.help()
    }
    fn url<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        self.0.url()
    }
    fn severity(&self) -> Option<miette::Severity> {
        self.0.severity()
    }
    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.0.source_code()
    }
    fn labels(&self) -> Option<Box<dyn Iterator<Item = miette::LabeledSpan> + '_>> {
        self.0.labels()
    }
    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn miette::Diagnostic> + 'a>> {
        self.0.related()
    }
    fn diagnostic_source(&self) -> Option<&dyn miette::Diagnostic> {
        self.0.diagnostic_source()
    }
}

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[error("{0}")]
#[diagnostic(code(kiln::store::builder))]
struct Message(String);
