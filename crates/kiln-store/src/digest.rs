//! Digests: blake3 hashes, their store spelling, and the canonical hash of a file tree.
//!
//! Store names use Nix's base-32 alphabet (no `e`, `o`, `u`, `t`, so names never spell words)
//! over the first 160 bits of the hash: 32 characters, as long as Nix's store hashes, which
//! keeps paths short while leaving collisions out of reach.
//!
//! A tree's content hash covers exactly what a store entry promises to keep. Its encoding is
//! versioned ([`TreeFormat`]), and a record names the format its hash was made with, so a record
//! from an older kiln is read as what it is rather than misread as damage:
//!
//! - **format 1** (`kiln-tree-1`): entry names (sorted bytewise), kinds, the executable bit, file
//!   contents and symlink targets.
//! - **format 2** (`kiln-tree-2`, the current one): the same, plus every permission bit but the
//!   write bits (setuid, setgid and sticky included: they reach an image's files) and the owner
//!   and group of every node, symlinks included. The write bits are left out because the store
//!   clears them when it seals an entry; `verify` reports a writable node separately.
//!
//! Times are never covered: builders set the times an image carries themselves.

use std::fmt;
use std::fs;
use std::io::{self, Read};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

/// A blake3 hash.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest([u8; 32]);

/// Bytes of the hash that appear in store names (160 bits).
const NAME_BYTES: usize = 20;

impl Digest {
    pub fn of(bytes: &[u8]) -> Digest {
        Digest(*blake3::hash(bytes).as_bytes())
    }

    pub fn from_hasher(hasher: &blake3::Hasher) -> Digest {
        Digest(*hasher.finalize().as_bytes())
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    pub fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }

    pub fn from_hex(hex: &str) -> Option<Digest> {
        if hex.len() != 64 || !hex.is_ascii() {
            return None;
        }
        let mut out = [0u8; 32];
        for (i, byte) in out.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok()?;
        }
        Some(Digest(out))
    }

    /// The 32-character base-32 spelling used in store entry names.
    pub fn to_store_base32(&self) -> String {
        nix_base32::to_nix_base32(&self.0[..NAME_BYTES])
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "blake3:{}", self.to_hex())
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "blake3:{}", self.to_hex())
    }
}

/// The version of the tree hash's encoding (see the module comment).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum TreeFormat {
    V1,
    V2,
}

impl TreeFormat {
    /// The format new records use.
    pub const CURRENT: TreeFormat = TreeFormat::V2;

    pub fn number(self) -> u32 {
        match self {
            TreeFormat::V1 => 1,
            TreeFormat::V2 => 2,
        }
    }

    pub fn from_number(n: u32) -> Option<TreeFormat> {
        match n {
            1 => Some(TreeFormat::V1),
            2 => Some(TreeFormat::V2),
            _ => None,
        }
    }
}

/// The permission bits format 2 covers: all but the write bits.
pub(crate) const HASHED_MODE_BITS: u32 = 0o7555;

/// The canonical content hash (current format) of the file, directory or symlink at `path`
/// (not followed).
pub fn hash_tree(path: &Path) -> io::Result<Digest> {
    hash_tree_as(path, TreeFormat::CURRENT)
}

/// The canonical content hash of `path` in a given format.
pub fn hash_tree_as(path: &Path, format: TreeFormat) -> io::Result<Digest> {
    let mut hasher = blake3::Hasher::new();
    hasher.update(match format {
        TreeFormat::V1 => b"kiln-tree-1\0",
        TreeFormat::V2 => b"kiln-tree-2\0",
    });
    let mut walk = Walk {
        hasher: &mut hasher,
        format,
        writable: None,
    };
    walk.node(path)?;
    Ok(Digest::from_hasher(&hasher))
}

/// As [`hash_tree_as`], and also the first node (in hashing order) with a write bit set, which
/// a sealed store entry must not have.
pub(crate) fn hash_sealed_tree(
    path: &Path,
    format: TreeFormat,
) -> io::Result<(Digest, Option<std::path::PathBuf>)> {
    let mut hasher = blake3::Hasher::new();
    hasher.update(match format {
        TreeFormat::V1 => b"kiln-tree-1\0",
        TreeFormat::V2 => b"kiln-tree-2\0",
    });
    let mut walk = Walk {
        hasher: &mut hasher,
        format,
        writable: Some(None),
    };
    walk.node(path)?;
    let writable = walk.writable.flatten();
    Ok((Digest::from_hasher(&hasher), writable))
}

struct Walk<'a> {
    hasher: &'a mut blake3::Hasher,
    format: TreeFormat,
    /// When asked for (`Some`), the first writable node found.
    writable: Option<Option<std::path::PathBuf>>,
}

impl Walk<'_> {
    /// Format 2's mode and owner fields of a node.
    fn attributes(&mut self, path: &Path, meta: &fs::Metadata) {
        if let Some(found @ None) = &mut self.writable {
            if !meta.file_type().is_symlink() && meta.permissions().mode() & 0o222 != 0 {
                *found = Some(path.to_path_buf());
            }
        }
        if self.format == TreeFormat::V1 {
            return;
        }
        let mode = if meta.file_type().is_symlink() {
            0
        } else {
            meta.permissions().mode() & HASHED_MODE_BITS
        };
        self.hasher.update(&mode.to_le_bytes());
        self.hasher.update(&meta.uid().to_le_bytes());
        self.hasher.update(&meta.gid().to_le_bytes());
    }

    fn node(&mut self, path: &Path) -> io::Result<()> {
        let meta = fs::symlink_metadata(path)?;
        let kind = meta.file_type();
        if kind.is_symlink() {
            let target = fs::read_link(path)?;
            let target = target.as_os_str().as_bytes();
            self.hasher.update(b"L");
            self.attributes(path, &meta);
            self.hasher.update(&(target.len() as u64).to_le_bytes());
            self.hasher.update(target);
        } else if kind.is_dir() {
            let mut names: Vec<_> = fs::read_dir(path)?
                .map(|e| e.map(|e| e.file_name()))
                .collect::<io::Result<_>>()?;
            names.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
            self.hasher.update(b"D");
            self.attributes(path, &meta);
            self.hasher.update(&(names.len() as u64).to_le_bytes());
            for name in names {
                let bytes = name.as_bytes();
                self.hasher.update(&(bytes.len() as u64).to_le_bytes());
                self.hasher.update(bytes);
                self.node(&path.join(&name))?;
            }
        } else if kind.is_file() {
            let executable = meta.permissions().mode() & 0o111 != 0;
            self.hasher.update(if executable { b"X" } else { b"F" });
            self.attributes(path, &meta);
            self.hasher.update(&meta.len().to_le_bytes());
            let mut file = fs::File::open(path)?;
            let mut buf = vec![0u8; 64 * 1024];
            let mut remaining = meta.len();
            loop {
                let n = file.read(&mut buf)?;
                if n == 0 {
                    break;
                }
                remaining = remaining.saturating_sub(n as u64);
                self.hasher.update(&buf[..n]);
            }
            if remaining != 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!("{} shrank while hashing", path.display()),
                ));
            }
        } else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "{} is neither a file, a directory nor a symlink",
                    path.display()
                ),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NIX_BASE32: &[u8; 32] = b"0123456789abcdfghijklmnpqrsvwxyz";

    #[test]
    fn base32_uses_nix_alphabet_and_length() {
        let s = Digest::of(b"hello").to_store_base32();
        assert_eq!(s.len(), 32);
        assert!(s.bytes().all(|c| NIX_BASE32.contains(&c)));
    }

    #[test]
    fn base32_known_values() {
        // Nix spells the 1-byte value 0x1f as "0z" (two characters, last digit first in memory).
        let base32 = nix_base32::to_nix_base32;
        assert_eq!(base32(&[0x1f]), "0z");
        assert_eq!(base32(&[0xff]), "7z");
        assert_eq!(base32(&[0, 0]), "0000");
    }

    #[test]
    fn hex_round_trip() {
        let d = Digest::of(b"x");
        assert_eq!(Digest::from_hex(&d.to_hex()), Some(d));
        assert_eq!(Digest::from_hex("zz"), None);
    }
}
