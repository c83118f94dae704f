//! Errors of the Debian archive client: trust, parsing, resolution, the lockfile and `.deb`s.
//!
//! One enum for the crate; each variant carries the data it names, and the wording lives here.
//! Codes (`kiln::debian::<name>`) are stable API: tests match on them, not on messages.

use std::path::PathBuf;

pub type DebianResult<T> = Result<T, DebianError>;

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum DebianError {
    #[error("cannot {action} `{path}`: {source}")]
    #[diagnostic(code(kiln::debian::io))]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("cannot download `{url}`: {message}")]
    #[diagnostic(
        code(kiln::debian::download),
        help("check the network, or set KILN_DEBIAN_MIRROR to a reachable Debian mirror")
    )]
    Download { url: String, message: String },

    #[error("`{url}`: only http:// and file:// mirrors are supported by this build")]
    #[diagnostic(
        code(kiln::debian::unsupported_url),
        help("use an http:// mirror (the archive is verified by its signature, not by TLS), or build kiln with the `https` feature")
    )]
    UnsupportedUrl { url: String },

    #[error("cannot run `gpgv`: {message}")]
    #[diagnostic(
        code(kiln::debian::gpgv_missing),
        help("install it with `apt-get install gpgv`")
    )]
    GpgvMissing { message: String },

    #[error("the archive keyring `{path}` does not exist")]
    #[diagnostic(
        code(kiln::debian::no_keyring),
        help("install it with `apt-get install debian-archive-keyring`, or point the archive options at a keyring")
    )]
    NoKeyring { path: PathBuf },

    #[error("the signature of `{what}` does not verify against `{keyring}`")]
    #[diagnostic(
        code(kiln::debian::bad_signature),
        help("the mirror served a file the Debian archive key did not sign; try another mirror\n{gpgv_output}")
    )]
    BadSignature {
        what: String,
        keyring: PathBuf,
        gpgv_output: String,
    },

    #[error("`{what}`: expected {expected}, got {actual}")]
    #[diagnostic(
        code(kiln::debian::hash_mismatch),
        help("the file was corrupted or tampered with; nothing was registered")
    )]
    HashMismatch {
        what: String,
        expected: String,
        actual: String,
    },

    #[error("`{what}`: expected {expected} bytes, got {actual}")]
    #[diagnostic(code(kiln::debian::size_mismatch))]
    SizeMismatch {
        what: String,
        expected: u64,
        actual: u64,
    },

    #[error("the release file does not list `{path}`")]
    #[diagnostic(
        code(kiln::debian::not_in_release),
        help("the mirror may not carry this component or architecture")
    )]
    NotInRelease { path: String },

    #[error("{what}, line {line}: {message}")]
    #[diagnostic(code(kiln::debian::parse))]
    Parse {
        what: String,
        line: usize,
        message: String,
    },

    #[error("`{version}` is not a valid Debian version: {reason}")]
    #[diagnostic(code(kiln::debian::bad_version))]
    BadVersion { version: String, reason: String },

    #[error("no package satisfies `{relation}`, needed by {}", chain.join(" → "))]
    #[diagnostic(
        code(kiln::debian::missing_dependency),
        help(
            "the package may be in a component that is not enabled, or the name may be misspelled"
        )
    )]
    MissingDependency {
        relation: String,
        /// The requested name first, then each package down to the one that needed it.
        chain: Vec<String>,
    },

    #[error("no package `{name}` in the archive")]
    #[diagnostic(
        code(kiln::debian::unknown_package),
        help("check the name with `apt-cache policy {name}` on a bookworm host")
    )]
    UnknownPackage { name: String },

    #[error("`{path}`, line {line}: {message}")]
    #[diagnostic(
        code(kiln::debian::bad_lock),
        help("`kiln lock` rewrites the lockfile")
    )]
    BadLock {
        path: String,
        line: usize,
        message: String,
    },

    #[error("kiln.lock lacks {}: {}", plural(missing.len()), missing.join(", "))]
    #[diagnostic(
        code(kiln::debian::lock_missing),
        help("`kiln lock PROFILE` pins them (as does `kiln build` without `--locked`); evaluating never adds to the lock")
    )]
    LockMissing { missing: Vec<String> },

    #[error("the lock pins release {release}, which is not in the store, and the network is off")]
    #[diagnostic(
        code(kiln::debian::offline_index),
        help("run once with the network to cache the archive index")
    )]
    OfflineIndex { release: String },

    #[error("`{deb}` is not a valid .deb: {reason}")]
    #[diagnostic(code(kiln::debian::bad_deb))]
    BadDeb { deb: String, reason: String },

    #[error("`{deb}` contains a hostile entry `{entry}`: {reason}")]
    #[diagnostic(
        code(kiln::debian::hostile_deb),
        help("the package was refused and nothing was registered")
    )]
    HostileDeb {
        deb: String,
        entry: String,
        reason: String,
    },

    #[error("`{what}` is not a kiln package manifest: {reason}")]
    #[diagnostic(
        code(kiln::debian::not_a_manifest),
        help("a manifest is the `NAME.manifest.json` kiln build writes next to `result/iso/NAME.iso`")
    )]
    NotManifest { what: String, reason: String },

    #[error(transparent)]
    #[diagnostic(transparent)]
    Store(#[from] kiln_store::StoreError),
}

fn plural(n: usize) -> String {
    if n == 1 {
        "1 package".to_string()
    } else {
        format!("{n} packages")
    }
}

impl DebianError {
    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(std::io::Error) -> DebianError {
        let path = path.into();
        move |source| DebianError::Io {
            action,
            path,
            source,
        }
    }

    /// The stable diagnostic code, for tests and callers that branch on the kind of error.
    pub fn code_str(&self) -> String {
        use miette::Diagnostic;
        self.code().map(|c| c.to_string()).unwrap_or_default()
    }
}
