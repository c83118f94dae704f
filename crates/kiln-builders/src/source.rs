//! `copy-path`: a file tree read at evaluation time, added to the store by its content.
//!
//! A path value in a derivation (`./splash.png`), `"${./x}"`, `builtins.path` and
//! `builtins.filterSource` read the tree once, at evaluation, into a [`SourceTree`]. Its
//! [`hash_source`] is the fixed output of a `copy-path` derivation, so the store key covers
//! every byte, every executable bit and every symlink target: a changed file is a new entry, an
//! unchanged one the same entry. The builder writes the bytes that were hashed, kept in memory,
//! so the entry cannot differ from its key even if the file changes between evaluation and
//! build.

use crate::error::{BuilderError, Result};
use kiln_store::{BuildError, Builder, Derivation, DrvId, Events};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// The builder name of sources copied from paths.
pub const COPY_PATH: &str = "copy-path";

/// A source file tree read at evaluation time, waiting to be written into the store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SourceTree {
    File { bytes: Vec<u8>, executable: bool },
    Dir(BTreeMap<String, SourceTree>),
    Symlink(String),
}

/// Sources by the id of the derivation that writes them.
pub type Sources = Arc<Mutex<BTreeMap<DrvId, SourceTree>>>;

/// The content hash of a source tree: what its `copy-path` derivation is keyed by. Like a
/// NAR, it covers file bytes, the executable bit, symlink targets and names, and nothing
/// else (no times, owners or other mode bits), so the same tree gives the same key anywhere.
pub fn hash_source(tree: &SourceTree) -> kiln_store::Digest {
    let mut hasher = blake3::Hasher::new();
    hash_into(tree, &mut hasher);
    kiln_store::Digest::from_hasher(&hasher)
}

fn hash_into(tree: &SourceTree, hasher: &mut blake3::Hasher) {
    fn field(hasher: &mut blake3::Hasher, tag: &[u8], bytes: &[u8]) {
        hasher.update(tag);
        hasher.update(&(bytes.len() as u64).to_le_bytes());
        hasher.update(bytes);
    }
    match tree {
        SourceTree::File { bytes, executable } => {
            field(hasher, if *executable { b"exe" } else { b"file" }, bytes);
        }
        SourceTree::Symlink(target) => field(hasher, b"symlink", target.as_bytes()),
        SourceTree::Dir(entries) => {
            field(hasher, b"dir", &(entries.len() as u64).to_le_bytes());
            for (name, entry) in entries {
                field(hasher, b"name", name.as_bytes());
                hash_into(entry, hasher);
            }
        }
    }
}

/// Writes a source tree at `out`.
fn write_source(tree: &SourceTree, out: &Path) -> Result<()> {
    match tree {
        SourceTree::File { bytes, executable } => {
            std::fs::write(out, bytes).map_err(BuilderError::io("write", out))?;
            crate::set_mode(out, if *executable { 0o555 } else { 0o444 })
        }
        SourceTree::Symlink(target) => {
            std::os::unix::fs::symlink(target, out).map_err(BuilderError::io("create", out))
        }
        SourceTree::Dir(entries) => {
            std::fs::create_dir(out).map_err(BuilderError::io("create", out))?;
            for (name, entry) in entries {
                write_source(entry, &out.join(name))?;
            }
            Ok(())
        }
    }
}

/// Writes a source read at evaluation time.
pub(crate) struct CopyPath {
    pub(crate) sources: Sources,
}

impl Builder for CopyPath {
    fn check(&self, _: &Derivation, _: &[PathBuf]) -> std::result::Result<(), BuildError> {
        Ok(())
    }

    fn build(
        &self,
        drv: &Derivation,
        _: &[PathBuf],
        out: &Path,
        _: &dyn Events,
    ) -> std::result::Result<(), BuildError> {
        let sources = self
            .sources
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let tree = sources
            .get(&drv.id())
            .ok_or_else(|| BuilderError::UnknownSource {
                name: drv.name.clone(),
            })?;
        Ok(write_source(tree, out)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(text: &str, executable: bool) -> SourceTree {
        SourceTree::File {
            bytes: text.as_bytes().to_vec(),
            executable,
        }
    }

    #[test]
    fn the_hash_covers_bytes_modes_names_and_links() {
        let base = SourceTree::Dir([("a".to_string(), file("x", false))].into());
        let variants = [
            SourceTree::Dir([("a".to_string(), file("y", false))].into()),
            SourceTree::Dir([("a".to_string(), file("x", true))].into()),
            SourceTree::Dir([("b".to_string(), file("x", false))].into()),
            SourceTree::Dir([("a".to_string(), SourceTree::Symlink("x".into()))].into()),
            file("x", false),
        ];
        for variant in &variants {
            assert_ne!(hash_source(&base), hash_source(variant), "{variant:?}");
        }
        assert_eq!(hash_source(&base), hash_source(&base.clone()));
    }
}
