//! Comparing two trees byte for byte, for `kiln build --check`: the first difference, named by
//! its path and, for file contents, the offset of the first differing byte.
//!
//! It compares what the tree hash (format 2) covers, in the same order: names, kinds, modes (but
//! the write bits), owners, symlink targets and contents. Comparing the bytes themselves, rather
//! than a rebuilt tree's hash with the recorded one, is the point: a store entry damaged after
//! registration still matches its record's hash, but not its own bytes.

use crate::digest::HASHED_MODE_BITS;
use std::fmt;
use std::fs;
use std::io::{self, Read};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// The first way two trees differ.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Difference {
    /// The path inside the trees (empty for their roots).
    pub path: PathBuf,
    pub kind: DifferenceKind,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DifferenceKind {
    /// The contents differ from this byte on (a shorter file ends there).
    Content {
        offset: u64,
        expected_len: u64,
        actual_len: u64,
    },
    /// Only the first tree has it.
    Missing,
    /// Only the second tree has it.
    Extra,
    /// A file in one, a directory or symlink in the other.
    Kind {
        expected: String,
        actual: String,
    },
    Mode {
        expected: u32,
        actual: u32,
    },
    Owner {
        expected: (u32, u32),
        actual: (u32, u32),
    },
    LinkTarget {
        expected: PathBuf,
        actual: PathBuf,
    },
}

impl fmt::Display for Difference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = if self.path.as_os_str().is_empty() {
            ".".to_string()
        } else {
            self.path.display().to_string()
        };
        match &self.kind {
            DifferenceKind::Content {
                offset,
                expected_len,
                actual_len,
            } => {
                write!(
                    f,
                    "`{path}`: the bytes differ from offset {offset} ({offset:#x})"
                )?;
                if expected_len != actual_len {
                    write!(f, "; {expected_len} bytes against {actual_len}")?;
                }
                Ok(())
            }
            DifferenceKind::Missing => write!(f, "`{path}` is missing"),
            DifferenceKind::Extra => write!(f, "`{path}` is new"),
            DifferenceKind::Kind { expected, actual } => {
                write!(f, "`{path}` is a {actual}, not a {expected}")
            }
            DifferenceKind::Mode { expected, actual } => {
                write!(f, "`{path}` has mode {actual:04o}, not {expected:04o}")
            }
            DifferenceKind::Owner { expected, actual } => write!(
                f,
                "`{path}` is owned by {}:{}, not {}:{}",
                actual.0, actual.1, expected.0, expected.1
            ),
            DifferenceKind::LinkTarget { expected, actual } => write!(
                f,
                "`{path}` points to `{}`, not `{}`",
                actual.display(),
                expected.display()
            ),
        }
    }
}

/// The first difference between the trees at `expected` and `actual` (not followed if they are
/// symlinks), in the tree hash's order; `None` when they are the same.
pub fn compare_trees(expected: &Path, actual: &Path) -> io::Result<Option<Difference>> {
    compare_node(expected, actual, Path::new(""))
}

fn kind_name(meta: &fs::Metadata) -> &'static str {
    let kind = meta.file_type();
    if kind.is_symlink() {
        "symlink"
    } else if kind.is_dir() {
        "directory"
    } else if kind.is_file() {
        "file"
    } else {
        "special file"
    }
}

fn compare_node(expected: &Path, actual: &Path, rel: &Path) -> io::Result<Option<Difference>> {
    let differ = |kind| {
        Ok(Some(Difference {
            path: rel.to_path_buf(),
            kind,
        }))
    };
    let (a, b) = (
        fs::symlink_metadata(expected)?,
        fs::symlink_metadata(actual)?,
    );
    if kind_name(&a) != kind_name(&b) {
        return differ(DifferenceKind::Kind {
            expected: kind_name(&a).into(),
            actual: kind_name(&b).into(),
        });
    }
    if !a.file_type().is_symlink() {
        let (mode_a, mode_b) = (
            a.permissions().mode() & HASHED_MODE_BITS,
            b.permissions().mode() & HASHED_MODE_BITS,
        );
        if mode_a != mode_b {
            return differ(DifferenceKind::Mode {
                expected: mode_a,
                actual: mode_b,
            });
        }
    }
    if (a.uid(), a.gid()) != (b.uid(), b.gid()) {
        return differ(DifferenceKind::Owner {
            expected: (a.uid(), a.gid()),
            actual: (b.uid(), b.gid()),
        });
    }
    if a.file_type().is_symlink() {
        let (target_a, target_b) = (fs::read_link(expected)?, fs::read_link(actual)?);
        if target_a != target_b {
            return differ(DifferenceKind::LinkTarget {
                expected: target_a,
                actual: target_b,
            });
        }
    } else if a.is_dir() {
        let names = |dir: &Path| -> io::Result<Vec<std::ffi::OsString>> {
            let mut names: Vec<_> = fs::read_dir(dir)?
                .map(|e| e.map(|e| e.file_name()))
                .collect::<io::Result<_>>()?;
            names.sort_by(|x, y| x.as_bytes().cmp(y.as_bytes()));
            Ok(names)
        };
        let (names_a, names_b) = (names(expected)?, names(actual)?);
        let (mut i, mut j) = (0, 0);
        while i < names_a.len() || j < names_b.len() {
            let order = match (names_a.get(i), names_b.get(j)) {
                (Some(x), Some(y)) => x.as_bytes().cmp(y.as_bytes()),
                (Some(_), None) => std::cmp::Ordering::Less,
                _ => std::cmp::Ordering::Greater,
            };
            match order {
                std::cmp::Ordering::Less => {
                    return differ_at(rel.join(&names_a[i]), DifferenceKind::Missing);
                }
                std::cmp::Ordering::Greater => {
                    return differ_at(rel.join(&names_b[j]), DifferenceKind::Extra);
                }
                std::cmp::Ordering::Equal => {
                    let name = &names_a[i];
                    if let Some(found) =
                        compare_node(&expected.join(name), &actual.join(name), &rel.join(name))?
                    {
                        return Ok(Some(found));
                    }
                    i += 1;
                    j += 1;
                }
            }
        }
    } else if a.is_file() {
        if let Some(offset) = first_difference(expected, actual)? {
            return differ(DifferenceKind::Content {
                offset,
                expected_len: a.len(),
                actual_len: b.len(),
            });
        }
    }
    Ok(None)
}

fn differ_at(path: PathBuf, kind: DifferenceKind) -> io::Result<Option<Difference>> {
    Ok(Some(Difference { path, kind }))
}

/// The offset of the first byte where two files differ (a shorter one ends there).
fn first_difference(a: &Path, b: &Path) -> io::Result<Option<u64>> {
    let (mut a, mut b) = (fs::File::open(a)?, fs::File::open(b)?);
    const CHUNK: usize = 1 << 20;
    let (mut buf_a, mut buf_b) = (vec![0u8; CHUNK], vec![0u8; CHUNK]);
    let mut offset = 0u64;
    loop {
        let n_a = read_full(&mut a, &mut buf_a)?;
        let n_b = read_full(&mut b, &mut buf_b)?;
        let common = n_a.min(n_b);
        if let Some(i) = (0..common).find(|&i| buf_a[i] != buf_b[i]) {
            return Ok(Some(offset + i as u64));
        }
        if n_a != n_b {
            return Ok(Some(offset + common as u64));
        }
        if n_a == 0 {
            return Ok(None);
        }
        offset += n_a as u64;
    }
}

/// Reads until `buf` is full or the file ends.
fn read_full(file: &mut fs::File, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match file.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_the_first_differing_byte() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        for root in [&a, &b] {
            fs::create_dir_all(root.join("iso")).unwrap();
            fs::write(root.join("iso/x"), vec![7u8; 3 << 20]).unwrap();
        }
        assert_eq!(compare_trees(&a, &b).unwrap(), None);
        let mut bytes = vec![7u8; 3 << 20];
        bytes[(2 << 20) + 5] = 8;
        fs::write(b.join("iso/x"), bytes).unwrap();
        let found = compare_trees(&a, &b).unwrap().unwrap();
        assert_eq!(found.path, Path::new("iso/x"));
        assert_eq!(
            found.kind,
            DifferenceKind::Content {
                offset: (2 << 20) + 5,
                expected_len: 3 << 20,
                actual_len: 3 << 20
            }
        );
        assert!(found.to_string().contains("offset 2097157"), "{found}");
        fs::write(b.join("iso/x"), vec![7u8; 10]).unwrap();
        let found = compare_trees(&a, &b).unwrap().unwrap();
        assert!(matches!(
            found.kind,
            DifferenceKind::Content { offset: 10, .. }
        ));
        fs::write(b.join("iso/y"), "").unwrap();
        fs::write(b.join("iso/x"), vec![7u8; 3 << 20]).unwrap();
        let found = compare_trees(&a, &b).unwrap().unwrap();
        assert_eq!(found.path, Path::new("iso/y"));
        assert_eq!(found.kind, DifferenceKind::Extra);
        fs::remove_file(b.join("iso/y")).unwrap();
        fs::set_permissions(b.join("iso/x"), fs::Permissions::from_mode(0o4755)).unwrap();
        let found = compare_trees(&a, &b).unwrap().unwrap();
        assert!(
            matches!(found.kind, DifferenceKind::Mode { actual: 0o4555, .. }),
            "{found}"
        );
    }
}
