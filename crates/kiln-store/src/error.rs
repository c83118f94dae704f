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

    #[error("building `{name}` failed: {message}")]
    #[diagnostic(code(kiln::store::build_failed))]
    BuildFailed { name: String, message: String },

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

    #[error("{} of the steps failed", failures.len())]
    #[diagnostic(code(kiln::store::failed_steps))]
    Failed {
        #[related]
        failures: Vec<StoreError>,
    },
}

impl StoreError {
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
