//! kiln-debian: Debian bookworm's archive as kiln's binary cache.
//!
//! The pieces, in the order a build uses them:
//!
//! 1. [`open_index`] fetches the mirror's `InRelease`, verifies it with `gpgv` against the
//!    Debian archive keyring, fetches each component's `Packages` and checks it against the
//!    signed hashes; both are cached in the [`kiln_store::Store`] under their content hashes.
//!    [`ArchiveOptions::default`] reads `main contrib non-free non-free-firmware`: `non-free`
//!    is on by default because `broadcom-sta-dkms` (Broadcom's `wl` Wi-Fi driver) lives there.
//! 2. [`resolve`] computes a dependency closure over `Depends`/`Pre-Depends`, with versions
//!    compared as dpkg does ([`Version`]).
//! 3. [`Lock`] is `kiln.lock`: pins (version, filename, size, SHA-256) for a set of requested
//!    names and their closure; it knows which names it lacks and can update its pins.
//! 4. [`add_package`] turns a pin into two derivations, a fixed-output `fetch-deb` and an
//!    `unpack-deb`, realised by the [`FetchDeb`] and [`UnpackDeb`] builders.
//! 5. [`manifest`] is an image's package list (`NAME.manifest.json`) and the difference of two;
//!    [`copyright`] reads a package's machine-readable copyright file as an SPDX expression.
//!
//! ```no_run
//! use kiln_debian::{open_index, add_package, ArchiveOptions, FetchDeb, Lock, UnpackDeb, FETCH_DEB, UNPACK_DEB};
//! use kiln_store::{realise, Builder, Builders, Graph, Quiet, RealiseOptions, Store};
//!
//! let store = Store::open(Store::default_root())?;
//! let options = ArchiveOptions::default();
//! let index = open_index(&store, &options, None)?;
//! let lock = Lock::resolve(&index, &["busybox-static".to_string()])?;
//! let mut graph = Graph::new();
//! let tree = add_package(&mut graph, &store, &lock.packages["busybox-static"], &options.mirror)?;
//! let (fetch, unpack) = (FetchDeb::default(), UnpackDeb);
//! let builders: Builders = [(FETCH_DEB, &fetch as &dyn Builder), (UNPACK_DEB, &unpack as &dyn Builder)]
//!     .into_iter()
//!     .collect();
//! let paths = realise(&store, &graph, &[tree], &builders, &RealiseOptions::default(), &Quiet)?;
//! assert!(paths[&tree].join("bin/busybox").exists());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod ar;
mod archive;
mod builders;
pub mod copyright;
pub mod deb822;
mod download;
mod error;
mod lock;
pub mod manifest;
pub mod mirror;
mod packages;
mod release;
mod resolve;
mod unpack;
mod version;

pub use archive::{open_index, ArchiveOptions, Index, DEFAULT_KEYRING};
pub use builders::{
    add_package, fetch_derivation, sha256_file, unpack_derivation, unpack_name, FetchDeb,
    FetchInputs, UnpackDeb, FETCH_DEB, UNPACK_DEB,
};
pub use error::{DebianError, DebianResult};
pub use lock::{Change, Lock, LockedPackage};
pub use packages::{parse_packages, parse_relation, parse_relations, Group, Package, Relation};
pub use release::{parse_release, verify_inrelease, FileHash, Release};
pub use resolve::{resolve, ResolveOptions};
pub use unpack::{unpack_deb, CONTROL_DIR, FILES_MANIFEST};
pub use version::{Op, Version};
