//! kiln-store: content-addressed storage and parallel realisation.
//!
//! Entries are immutable trees named `<blake3 base32>-<name>` under one root ([`Store`]);
//! a [`Derivation`] describes how to make one from others, and [`realise`] builds a [`Graph`]
//! of them in dependency order, in parallel, skipping what the store already holds. The store
//! knows neither the Nix language nor any image format: builders are registered by name.
//!
//! Any number of processes may share a store: an entry is built under its own `flock`, so a step
//! two builds need is built once; `gc` and every crash leave it consistent (`store.rs`, `lock.rs`,
//! `gc.rs`). [`Store::verify`] re-hashes entries (contents, modes, owners, symlink targets;
//! `digest.rs` documents the versioned tree hash), and [`compare_trees`] finds the first byte
//! two trees differ in, for `kiln build --check`.
//!
//! ```
//! use kiln_store::{realise, BuildError, Builder, Builders, Derivation, Events, Graph, Quiet, RealiseOptions, Store};
//! use std::path::{Path, PathBuf};
//!
//! struct Write;
//! impl Builder for Write {
//!     fn check(&self, _: &Derivation, _: &[PathBuf]) -> Result<(), BuildError> {
//!         Ok(())
//!     }
//!     fn build(&self, drv: &Derivation, _: &[PathBuf], out: &Path, _: &dyn Events) -> Result<(), BuildError> {
//!         std::fs::write(out, &drv.args[0]).map_err(|e| BuildError::message(e.to_string()))
//!     }
//! }
//!
//! let dir = tempfile::tempdir().unwrap();
//! let store = Store::open(dir.path()).unwrap();
//! let mut graph = Graph::new();
//! let mut hello = Derivation::new("hello.txt", "write");
//! hello.args.push("hello".into());
//! let id = graph.add(hello);
//! let builders: Builders = [("write", &Write as &dyn Builder)].into_iter().collect();
//! let paths = realise(&store, &graph, &[id], &builders, &RealiseOptions::default(), &Quiet).unwrap();
//! assert_eq!(std::fs::read_to_string(&paths[&id]).unwrap(), "hello");
//! ```

mod compare;
mod derivation;
mod digest;
mod error;
mod gc;
pub mod inputs;
mod lock;
mod realise;
mod store;
mod test_hook;
mod verify;

pub use compare::{compare_trees, Difference, DifferenceKind};
pub use derivation::{Derivation, DrvId};
pub use digest::{hash_tree, hash_tree_as, Digest, TreeFormat};
pub use error::{BuildError, StoreError, StoreResult};
pub use gc::GcReport;
pub use realise::{realise, Builder, Builders, Events, Graph, Quiet, RealiseOptions, Substituter};
pub use store::{Added, EntryInfo, EntryName, Store};
pub use test_hook::set_rename_delay;
pub use verify::{Damage, VerifyReport};
