//! File access for evaluation. The evaluator reads files, lists directories and reads the
//! environment only through [`Loader`], so that evaluation is pure with respect to its loader
//! and tests can run against an in-memory tree (STYLE.md §1, Tvix's `EvalIO`).

use std::io;
use std::path::Path;

/// The kind of a directory entry, as `builtins.readDir` reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileType {
    Regular,
    Directory,
    Symlink,
    Unknown,
}

impl FileType {
    /// The name `builtins.readDir` uses.
    pub fn as_str(self) -> &'static str {
        match self {
            FileType::Regular => "regular",
            FileType::Directory => "directory",
            FileType::Symlink => "symlink",
            FileType::Unknown => "unknown",
        }
    }
}

pub trait Loader {
    /// The contents of a file.
    fn read_file(&self, path: &Path) -> io::Result<Vec<u8>>;
    /// The type of `path` itself (not following a final symlink); `NotFound` if it is missing.
    fn file_type(&self, path: &Path) -> io::Result<FileType>;
    /// Whether `path` exists, following symlinks.
    fn exists(&self, path: &Path) -> bool;
    /// The entries of a directory, in any order.
    fn read_dir(&self, path: &Path) -> io::Result<Vec<(String, FileType)>>;
    /// An environment variable (`builtins.getEnv`); `None` if unset.
    fn get_env(&self, name: &str) -> Option<String>;
    /// The target of the symlink at `path` (adding a tree to the store keeps links as links).
    fn read_link(&self, path: &Path) -> io::Result<String>;
    /// Whether the regular file at `path` is executable (the one mode bit the store keeps).
    fn is_executable(&self, path: &Path) -> bool;
}

/// The real file system and process environment.
#[derive(Clone, Copy, Debug, Default)]
pub struct FsLoader;

fn file_type_of(ft: std::fs::FileType) -> FileType {
    if ft.is_symlink() {
        FileType::Symlink
    } else if ft.is_dir() {
        FileType::Directory
    } else if ft.is_file() {
        FileType::Regular
    } else {
        FileType::Unknown
    }
}

impl Loader for FsLoader {
    fn read_file(&self, path: &Path) -> io::Result<Vec<u8>> {
        std::fs::read(path)
    }

    fn file_type(&self, path: &Path) -> io::Result<FileType> {
        Ok(file_type_of(std::fs::symlink_metadata(path)?.file_type()))
    }

    fn exists(&self, path: &Path) -> bool {
        path.exists()
    }

    fn read_dir(&self, path: &Path) -> io::Result<Vec<(String, FileType)>> {
        let mut out = Vec::new();
        for entry in std::fs::read_dir(path)? {
            let entry = entry?;
            out.push((
                entry.file_name().to_string_lossy().into_owned(),
                file_type_of(entry.file_type()?),
            ));
        }
        Ok(out)
    }

    fn get_env(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }

    fn read_link(&self, path: &Path) -> io::Result<String> {
        Ok(std::fs::read_link(path)?.to_string_lossy().into_owned())
    }

    fn is_executable(&self, path: &Path) -> bool {
        use std::os::unix::fs::PermissionsExt;
        std::fs::symlink_metadata(path)
            .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    }
}
