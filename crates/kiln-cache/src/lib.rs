//! kiln-cache: a binary cache of store entries on object storage.
//!
//! A store entry goes up as a deterministic compressed archive (`archive.rs` specifies the
//! format) named by its own hash, and a small manifest (`manifest.rs`) keyed by the entry's
//! blake3 key and signed with an ed25519 key (`keys.rs`, Nix's key format). A build asks the
//! caches for each step it lacks before building it ([`Caches`], a
//! [`kiln_store::Substituter`]); an entry is taken only when its manifest is signed by a trusted
//! key and its archive hashes to what the manifest says, and anything else is a warning and a
//! local build. [`push`] uploads entries, [`list_remote`] lists a cache, [`keygen`] makes keys,
//! [`Settings`] reads flags, environment and `config.toml`.
//!
//! The object stores are Apache Arrow's `object_store` crate (S3 and anything speaking its API,
//! such as SeaweedFS, MinIO or Garage; the local file system). It is async: this crate owns a
//! small tokio runtime per command, and its public functions are blocking, so the rest of kiln
//! stays synchronous.
//!
//! ```
//! use kiln_cache::{keygen, Caches, TrustedKeys};
//! let dir = tempfile::tempdir().unwrap();
//! let public = keygen("cache-1", &dir.path().join("secret"), &dir.path().join("public")).unwrap();
//! let trusted = TrustedKeys::parse(&public.to_text()).unwrap();
//! let store = kiln_store::Store::open(dir.path().join("store")).unwrap();
//! let cache = format!("file://{}", dir.path().join("cache").display());
//! let caches = Caches::open(&store, &[cache], trusted).unwrap();
//! ```

mod archive;
mod config;
mod error;
mod keys;
mod manifest;
mod push;
mod remote;
mod substitute;

pub use config::{config_path, Flags, Settings};
pub use error::{CacheError, CacheResult};
pub use keys::{keygen, PublicKey, SecretKey, TrustedKeys};
pub use manifest::{BuilderClass, Manifest};
pub use push::{list_remote, push, PushReport, RemoteEntry, RemoteListing};
pub use substitute::Caches;

/// The runtime a command's cache requests run on: two workers are plenty for I/O.
fn runtime() -> CacheResult<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("kiln-cache")
        .enable_all()
        .build()
        .map_err(CacheError::io("start the cache runtime", "(tokio)"))
}
