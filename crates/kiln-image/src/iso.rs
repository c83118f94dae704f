//! The native ISO 9660 writer: the input types ([`IsoSpec`], [`IsoTree`], [`VolumeId`]) and
//! [`write_iso`], which plans the layout and then writes file data at their offsets in parallel.
//!
//! Semantics, in writing order:
//! 1. The tree is validated when it is built (names, conflicts); the volume ID at construction.
//! 2. [`layout`] turns the tree into a plan: every directory, continuation area, boot catalog and
//!    file gets its logical block address (LBA) before a single byte is written. Everything the
//!    plan depends on is sorted, so the plan (and therefore the image) depends only on the spec.
//! 3. [`write`] serialises the metadata area (system area, volume descriptors, path tables,
//!    directories, Rock Ridge continuation areas, boot catalog) into one buffer, then copies
//!    file data with positioned writes from a rayon pool. Since each file owns a disjoint,
//!    pre-planned extent, the bytes are identical whatever the thread count.
//! 4. The image is written to a temporary file beside the destination and renamed at the end,
//!    so an error (disk full included) never leaves a half-written image behind.
//!
//! Names: ISO 9660 identifiers are mangled to uppercase 8.3 with `;1` ([`names`]); the real
//! names, modes, symlinks and times are carried by Rock Ridge ([`susp`]).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use crate::error::{ImageError, Result};

mod eltorito;
mod hybrid;
mod layout;
mod names;
pub mod read;
mod records;
mod susp;
mod write;

pub use write::write_iso;
// The ESP writer stamps its FAT entries with the same broken-down UTC time.
pub(crate) use records::Civil;

/// `epoch` (Unix seconds) as the ISO 8601 UTC time `YYYY-MM-DDThh:mm:ssZ`, the medium's own
/// time as other formats spell it (the SBOM beside the ISO), in the range a directory record
/// holds (1900 to 2155).
pub fn utc_timestamp(epoch: i64) -> Result<String> {
    let t = Civil::from_epoch(epoch)?;
    Ok(format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        t.year, t.month, t.day, t.hour, t.minute, t.second
    ))
}

/// A volume identifier (ECMA-119 8.4.6), checked once at construction.
///
/// ECMA-119 asks for d-characters (`A-Z 0-9 _`). Every NixOS label
/// (`nixos-minimal-24.05-x86_64`) breaks that rule, and xorriso and Linux accept such labels, so
/// kiln allows the a-characters (7.4.1) and lowercase letters as well. Anything else (non-ASCII,
/// control characters, more than 32 bytes) is an error.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VolumeId(String);

impl VolumeId {
    /// The longest volume ID ECMA-119 8.4.6 can store.
    pub const MAX_LEN: usize = 32;

    /// Checks `id` and wraps it.
    pub fn new(id: &str) -> Result<VolumeId> {
        if id.is_empty() {
            return Err(ImageError::IsoVolumeIdEmpty);
        }
        let len = id.chars().count();
        if len > Self::MAX_LEN {
            return Err(ImageError::IsoVolumeIdTooLong {
                id: id.to_owned(),
                len,
            });
        }
        for (index, ch) in id.chars().enumerate() {
            let ok = ch.is_ascii_alphanumeric() || "_ !\"%&'()*+,-./:;<=>?".contains(ch);
            if !ok {
                return Err(ImageError::IsoVolumeIdIllegalChar {
                    id: id.to_owned(),
                    ch,
                    index,
                });
            }
        }
        Ok(VolumeId(id.to_owned()))
    }

    /// The identifier as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Where a file's bytes come from.
#[derive(Clone, Debug)]
pub enum FileSource {
    /// A file on disk (for example in the store), streamed at write time.
    Path(PathBuf),
    /// Bytes held in memory (generated configuration, small test files).
    Bytes(Arc<[u8]>),
}

/// One node of the tree. Modes are permission bits only (`0o7777`); the file type comes from the
/// variant.
#[derive(Clone, Debug)]
pub enum IsoNode {
    /// A directory and its entries.
    Dir(IsoDir),
    /// A regular file.
    File { mode: u32, source: FileSource },
    /// A symbolic link to `target`, carried by Rock Ridge `SL`.
    Symlink { mode: u32, target: String },
}

/// A directory: permission bits and entries sorted by their real (Rock Ridge) name.
#[derive(Clone, Debug)]
pub struct IsoDir {
    pub mode: u32,
    pub entries: BTreeMap<String, IsoNode>,
}

impl Default for IsoDir {
    fn default() -> Self {
        IsoDir {
            mode: 0o755,
            entries: BTreeMap::new(),
        }
    }
}

/// The tree of an image, rooted at `/`. Paths given to the `add_*` methods use `/` separators;
/// missing parent directories are created with mode `0o755`.
#[derive(Clone, Debug, Default)]
pub struct IsoTree {
    pub root: IsoDir,
}

impl IsoTree {
    /// An empty tree whose root has mode `0o755`.
    pub fn new() -> IsoTree {
        IsoTree::default()
    }

    /// Adds (or re-moded) a directory at `path`.
    pub fn add_dir(&mut self, path: &str, mode: u32) -> Result<()> {
        let (parent, name) = self.parent_of(path)?;
        match parent.entries.get_mut(&name) {
            Some(IsoNode::Dir(dir)) => {
                dir.mode = mode;
                Ok(())
            }
            Some(_) => Err(ImageError::IsoPathConflict {
                path: path.to_owned(),
            }),
            None => {
                let dir = IsoDir {
                    mode,
                    entries: BTreeMap::new(),
                };
                parent.entries.insert(name, IsoNode::Dir(dir));
                Ok(())
            }
        }
    }

    /// Adds a regular file at `path`.
    pub fn add_file(&mut self, path: &str, mode: u32, source: FileSource) -> Result<()> {
        self.insert(path, IsoNode::File { mode, source })
    }

    /// Adds a symlink at `path` pointing at `target`.
    pub fn add_symlink(&mut self, path: &str, target: &str) -> Result<()> {
        self.insert(
            path,
            IsoNode::Symlink {
                mode: 0o777,
                target: target.to_owned(),
            },
        )
    }

    /// Looks a node up by its `/`-separated path.
    pub fn get(&self, path: &str) -> Option<&IsoNode> {
        let mut dir = &self.root;
        let mut parts = path.split('/').filter(|part| !part.is_empty()).peekable();
        while let Some(part) = parts.next() {
            let node = dir.entries.get(part)?;
            if parts.peek().is_none() {
                return Some(node);
            }
            match node {
                IsoNode::Dir(sub) => dir = sub,
                _ => return None,
            }
        }
        None
    }

    fn insert(&mut self, path: &str, node: IsoNode) -> Result<()> {
        let (parent, name) = self.parent_of(path)?;
        if parent.entries.contains_key(&name) {
            return Err(ImageError::IsoPathConflict {
                path: path.to_owned(),
            });
        }
        parent.entries.insert(name, node);
        Ok(())
    }

    /// Walks to the parent of `path`, creating directories, and returns it with the last name.
    fn parent_of(&mut self, path: &str) -> Result<(&mut IsoDir, String)> {
        let parts: Vec<&str> = path.split('/').filter(|part| !part.is_empty()).collect();
        let Some((last, dirs)) = parts.split_last() else {
            return Err(ImageError::IsoInvalidName {
                path: path.to_owned(),
                name: String::new(),
            });
        };
        for part in &parts {
            check_name(path, part)?;
        }
        let mut dir = &mut self.root;
        for part in dirs {
            let entry = dir
                .entries
                .entry((*part).to_owned())
                .or_insert_with(|| IsoNode::Dir(IsoDir::default()));
            match entry {
                IsoNode::Dir(sub) => dir = sub,
                _ => {
                    return Err(ImageError::IsoPathConflict {
                        path: path.to_owned(),
                    })
                }
            }
        }
        Ok((dir, (*last).to_owned()))
    }
}

/// A Rock Ridge name must be a single, non-special path component of at most 255 bytes.
fn check_name(path: &str, name: &str) -> Result<()> {
    let bad = name.is_empty()
        || name == "."
        || name == ".."
        || name.len() > 255
        || name.contains(['/', '\0']);
    if bad {
        return Err(ImageError::IsoInvalidName {
            path: path.to_owned(),
            name: name.to_owned(),
        });
    }
    Ok(())
}

/// El Torito boot options. Paths name regular files of the tree.
#[derive(Clone, Debug, Default)]
pub struct BootOptions {
    /// The BIOS no-emulation boot image (isolinux.bin). Loaded as 4 virtual sectors, with a boot
    /// info table patched in at offset 8 (like `mkisofs -boot-info-table`).
    pub bios_image: Option<String>,
    /// The EFI System Partition image (a FAT file system) for the UEFI entry (platform 0xEF).
    pub efi_image: Option<String>,
    /// Where the boot catalog appears in the tree (default `boot.catalog`, hidden if `None`).
    pub catalog_path: Option<String>,
    /// isohybrid: the MBR template (syslinux `isohdpfx.bin`, its first 432 bytes are used). With
    /// it the system area gets an MBR so the image boots from a USB stick.
    pub hybrid_mbr: Option<Arc<[u8]>>,
    /// isohybrid: also write a GPT (like `-isohybrid-gpt-basdat`); needs `hybrid_mbr`.
    pub hybrid_gpt: bool,
}

/// Everything that determines an image's bytes.
#[derive(Clone, Debug)]
pub struct IsoSpec {
    pub volume_id: VolumeId,
    pub tree: IsoTree,
    /// Seconds since the Unix epoch, used for every timestamp in the image.
    pub timestamp: i64,
    pub boot: BootOptions,
}

impl IsoSpec {
    /// A spec with no boot options.
    pub fn new(volume_id: VolumeId, tree: IsoTree, timestamp: i64) -> IsoSpec {
        IsoSpec {
            volume_id,
            tree,
            timestamp,
            boot: BootOptions::default(),
        }
    }
}

/// What [`write_iso`] reports about the image it wrote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IsoSummary {
    /// The image size in bytes.
    pub size: u64,
    /// Number of directories, including the root.
    pub dirs: usize,
    /// Number of regular files.
    pub files: usize,
}
