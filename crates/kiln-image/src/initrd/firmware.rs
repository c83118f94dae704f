//! Finding the firmware files that the included modules name (`firmware=` in `.modinfo`) in the
//! `lib/firmware` trees of `hardware.firmware` packages.
//!
//! The kernel's loader (`drivers/base/firmware_loader/main.c`, `fw_get_filesystem_firmware`)
//! tries `<dir>/<name>` and, with `CONFIG_FW_LOADER_COMPRESS`, `<name>.zst` and `<name>.xz`.
//! Debian 12's firmware packages ship plain files, later ones compressed ones; both are found
//! here and kept under their own names, which the kernel then decompresses itself.
//!
//! Some drivers declare globs (brcmfmac: `brcm/brcmfmac*-sdio.*.txt`); a glob in the last path
//! component matches every file of that directory. A glob with no match is not reported as
//! missing, since such entries list optional board-specific files. Missing plain names are
//! returned so the caller can warn, like mkinitcpio; they are not errors.

use crate::kmod::fnmatch;
use crate::ImageError;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A firmware file to copy: its path under `lib/firmware` in the image, and its source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FirmwareFile {
    /// `brcm/brcmfmac4350-pcie.bin` (or `….bin.zst` for a compressed variant).
    pub dest: String,
    pub source: PathBuf,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FirmwareLookup {
    /// Sorted by `dest`, without duplicates.
    pub found: Vec<FirmwareFile>,
    /// Names found in no tree, sorted.
    pub missing: Vec<String>,
}

/// Compressed variants the kernel's loader accepts, tried after the plain name.
const SUFFIXES: [&str; 3] = ["", ".zst", ".xz"];

/// Looks up every name in `trees` (each a `lib/firmware` directory); the first tree that has a
/// name wins.
pub fn find_firmware<S: AsRef<str>>(
    names: &[S],
    trees: &[PathBuf],
) -> Result<FirmwareLookup, ImageError> {
    let mut found: BTreeMap<String, PathBuf> = BTreeMap::new();
    let mut missing = Vec::new();
    for name in names {
        let name = name.as_ref();
        if name.is_empty()
            || name.starts_with('/')
            || name.split('/').any(|c| c == ".." || c.is_empty())
        {
            // A name that would escape `lib/firmware` cannot be installed anywhere sensible.
            missing.push(name.to_owned());
            continue;
        }
        let (dir, file) = match name.rsplit_once('/') {
            Some((dir, file)) => (Some(dir), file),
            None => (None, name),
        };
        if dir.is_some_and(is_glob) {
            // Globs in directory components are not used by any driver; report them.
            missing.push(name.to_owned());
        } else if is_glob(file) {
            for tree in trees {
                let tree_dir = dir.map_or_else(|| tree.clone(), |d| tree.join(d));
                for (file_name, source) in glob_dir(&tree_dir, file)? {
                    let dest =
                        dir.map_or_else(|| file_name.clone(), |d| format!("{d}/{file_name}"));
                    found.entry(dest).or_insert(source);
                }
            }
        } else {
            match find_one(name, trees) {
                Some((dest, source)) => {
                    found.entry(dest).or_insert(source);
                }
                None => missing.push(name.to_owned()),
            }
        }
    }
    missing.sort();
    missing.dedup();
    Ok(FirmwareLookup {
        found: found
            .into_iter()
            .map(|(dest, source)| FirmwareFile { dest, source })
            .collect(),
        missing,
    })
}

fn is_glob(text: &str) -> bool {
    text.contains(['*', '?', '['])
}

fn find_one(name: &str, trees: &[PathBuf]) -> Option<(String, PathBuf)> {
    for tree in trees {
        for suffix in SUFFIXES {
            let dest = format!("{name}{suffix}");
            let source = tree.join(&dest);
            // `metadata` follows symlinks: firmware trees link board files to shared ones.
            if std::fs::metadata(&source).is_ok_and(|m| m.is_file()) {
                return Some((dest, source));
            }
        }
    }
    None
}

/// Files in `dir` whose name (or name without a compression suffix) matches `pattern`, sorted.
fn glob_dir(dir: &Path, pattern: &str) -> Result<Vec<(String, PathBuf)>, ImageError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => {
            return Err(ImageError::Io {
                path: dir.to_path_buf(),
                source: e,
            })
        }
    };
    let mut res = Vec::new();
    for entry in entries {
        let entry = entry.map_err(ImageError::io(dir))?;
        let Ok(file_name) = entry.file_name().into_string() else {
            continue;
        };
        let plain = file_name
            .strip_suffix(".zst")
            .or_else(|| file_name.strip_suffix(".xz"))
            .unwrap_or(&file_name);
        if fnmatch(pattern.as_bytes(), plain.as_bytes()) {
            let source = entry.path();
            if std::fs::metadata(&source).is_ok_and(|m| m.is_file()) {
                res.push((file_name, source));
            }
        }
    }
    res.sort();
    Ok(res)
}
