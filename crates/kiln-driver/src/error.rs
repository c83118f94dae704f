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
    #[error("cannot check `{name}`: {message}")]
    #[diagnostic(code(kiln::driver::check))]
    Check { name: String, message: String },
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
