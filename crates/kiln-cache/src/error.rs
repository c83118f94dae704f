//! Errors of the binary cache. A cache that cannot be reached or returns something unverifiable
//! during a build is never an error (it is a warning and a local build); these are the errors of
//! the commands that need a cache to work: `kiln store push`, `ls --remote`, `keygen`, and bad
//! configuration.

use std::path::PathBuf;

pub type CacheResult<T> = Result<T, CacheError>;

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum CacheError {
    #[error("cannot {action} `{}`: {source}", path.display())]
    #[diagnostic(code(kiln::cache::io))]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("`{url}` is not a cache URL kiln understands: {reason}")]
    #[diagnostic(
        code(kiln::cache::bad_url),
        help("use `s3://BUCKET?endpoint=http://HOST:PORT&region=REGION`, `s3://BUCKET` (AWS), or `file:///DIR`")
    )]
    BadUrl { url: String, reason: String },

    #[error("`{text}` is not a {what} key: {reason}")]
    #[diagnostic(
        code(kiln::cache::bad_key),
        help("keys are one line `NAME:BASE64`, as `kiln store keygen` writes them")
    )]
    BadKey {
        what: &'static str,
        text: String,
        reason: String,
    },

    #[error("the configuration file `{}` is invalid: {reason}", path.display())]
    #[diagnostic(code(kiln::cache::bad_config))]
    BadConfig { path: PathBuf, reason: String },

    #[error("the cache `{url}` failed: {reason}")]
    #[diagnostic(
        code(kiln::cache::remote),
        help("check that the cache is reachable and that the AWS credentials (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, ~/.aws/credentials) are right")
    )]
    Remote { url: String, reason: String },

    #[error("`{entry}` cannot be pushed: {reason}")]
    #[diagnostic(code(kiln::cache::not_pushable))]
    NotPushable { entry: String, reason: String },

    #[error("`{}` is not in the store", path.display())]
    #[diagnostic(
        code(kiln::cache::not_in_store),
        help("push takes store paths (`result` links resolve to one) or `--all`")
    )]
    NotInStore { path: PathBuf },

    #[error("{failed} of {total} entries were not pushed")]
    #[diagnostic(code(kiln::cache::push_failed))]
    PushFailed {
        failed: usize,
        total: usize,
        #[related]
        errors: Vec<CacheError>,
    },

    #[error(transparent)]
    #[diagnostic(transparent)]
    Store(#[from] kiln_store::StoreError),
}

impl CacheError {
    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(std::io::Error) -> CacheError {
        let path = path.into();
        move |source| CacheError::Io {
            action,
            path,
            source,
        }
    }
}
