//! The files kiln carries inside its binary — `lib/*.nix` and the profile library `profiles/` — served
//! to the evaluator under the virtual directory [`LIB_ROOT`].
//!
//! Design decision: the profile library is embedded rather than looked up relative to the profile
//! or the current directory. A profile can then live anywhere (`/etc/kiln/laptop.nix`, a
//! colleague's checkout), `modulesPath` and `<kiln/profiles>` always name the library this binary
//! was built with (so its option declarations match its `lib`), and `kiln explain` still shows
//! file and line for every declaration because the texts are real files to the evaluator. The
//! rejected alternative — searching upwards from the profile for `profiles/eval-config.nix` —
//! fails for profiles outside a checkout and silently mixes library versions inside one.
//! The cost is a rebuild after editing `profiles/` (build.rs lists the files, so none is missed).

use kiln_eval::{FileType, Loader, SearchPathEntry};
use std::io;
use std::path::Path;

/// Where the embedded files appear to the evaluator. It is not a real directory: a name that
/// no file system path of a user's is likely to shadow, and that error messages show readably.
pub const LIB_ROOT: &str = "/@kiln";

/// `profiles/kiln.lock`: the pins of the embedded profile library's packages. A profile of
/// the embedded library (`/@kiln/profiles/…`) is built with it, read-only, so `kiln build`
/// works from any directory without writing a lock there.
pub const EMBEDDED_LOCK: &str = include_str!("../../../profiles/kiln.lock");

/// The embedded files, relative to [`LIB_ROOT`]: `lib/…` from this crate and `profiles/…` from the
/// workspace root, every `.nix` file of both (listed by `build.rs`).
const FILES: &[(&str, &str)] = include!(concat!(env!("OUT_DIR"), "/embedded_files.rs"));

/// The search path entry that makes `<kiln/lib>` resolve to the embedded library.
pub fn search_path_entry() -> SearchPathEntry {
    SearchPathEntry {
        prefix: Some("kiln".to_string()),
        path: LIB_ROOT.to_string(),
    }
}

/// A [`Loader`] that serves the embedded library under [`LIB_ROOT`] and passes everything
/// else to `inner`.
pub struct LibLoader<L> {
    inner: L,
}

impl<L: Loader> LibLoader<L> {
    pub fn new(inner: L) -> LibLoader<L> {
        LibLoader { inner }
    }
}

/// `Some(rel)` for a path inside [`LIB_ROOT`] (`""` for the root itself).
fn embedded(path: &Path) -> Option<&str> {
    let path = path.to_str()?;
    let rest = path.strip_prefix(LIB_ROOT)?;
    if rest.is_empty() {
        return Some("");
    }
    rest.strip_prefix('/')
}

fn file(rel: &str) -> Option<&'static str> {
    FILES
        .iter()
        .find(|(name, _)| *name == rel)
        .map(|(_, text)| *text)
}

fn is_dir(rel: &str) -> bool {
    rel.is_empty()
        || FILES
            .iter()
            .any(|(name, _)| name.strip_prefix(rel).is_some_and(|r| r.starts_with('/')))
}

fn not_found(path: &Path) -> io::Error {
    io::Error::new(
        io::ErrorKind::NotFound,
        format!("{} is not part of kiln's library", path.display()),
    )
}

impl<L: Loader> Loader for LibLoader<L> {
    fn read_file(&self, path: &Path) -> io::Result<Vec<u8>> {
        match embedded(path) {
            Some(rel) => file(rel)
                .map(|t| t.as_bytes().to_vec())
                .ok_or_else(|| not_found(path)),
            None => self.inner.read_file(path),
        }
    }

    fn file_type(&self, path: &Path) -> io::Result<FileType> {
        match embedded(path) {
            Some(rel) if file(rel).is_some() => Ok(FileType::Regular),
            Some(rel) if is_dir(rel) => Ok(FileType::Directory),
            Some(_) => Err(not_found(path)),
            None => self.inner.file_type(path),
        }
    }

    fn exists(&self, path: &Path) -> bool {
        match embedded(path) {
            Some(rel) => file(rel).is_some() || is_dir(rel),
            None => self.inner.exists(path),
        }
    }

    fn read_dir(&self, path: &Path) -> io::Result<Vec<(String, FileType)>> {
        let Some(rel) = embedded(path) else {
            return self.inner.read_dir(path);
        };
        if !is_dir(rel) {
            return Err(not_found(path));
        }
        let prefix = if rel.is_empty() {
            String::new()
        } else {
            format!("{rel}/")
        };
        let mut entries: Vec<(String, FileType)> = Vec::new();
        for (name, _) in FILES {
            let Some(rest) = name.strip_prefix(&prefix) else {
                continue;
            };
            let entry = match rest.split_once('/') {
                Some((dir, _)) => (dir.to_string(), FileType::Directory),
                None => (rest.to_string(), FileType::Regular),
            };
            if !entries.contains(&entry) {
                entries.push(entry);
            }
        }
        Ok(entries)
    }

    fn get_env(&self, name: &str) -> Option<String> {
        self.inner.get_env(name)
    }

    fn read_link(&self, path: &Path) -> io::Result<String> {
        match embedded(path) {
            // The embedded library has files and directories only.
            Some(_) => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{} is not a symlink", path.display()),
            )),
            None => self.inner.read_link(path),
        }
    }

    fn is_executable(&self, path: &Path) -> bool {
        embedded(path).is_none() && self.inner.is_executable(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nix_files(dir: &Path, rel: &str, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let entry = entry.unwrap();
            let name = entry.file_name().to_string_lossy().into_owned();
            let rel = if rel.is_empty() {
                name.clone()
            } else {
                format!("{rel}/{name}")
            };
            if entry.file_type().unwrap().is_dir() {
                nix_files(&entry.path(), &rel, out);
            } else if name.ends_with(".nix") {
                out.push(rel);
            }
        }
    }

    #[test]
    fn every_lib_and_profile_file_is_embedded() {
        let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut on_disk = Vec::new();
        nix_files(&crate_dir.join("lib"), "lib", &mut on_disk);
        nix_files(&crate_dir.join("../../profiles"), "profiles", &mut on_disk);
        on_disk.sort();
        let mut embedded: Vec<String> = FILES.iter().map(|(n, _)| n.to_string()).collect();
        embedded.sort();
        assert_eq!(on_disk, embedded);
    }

    #[test]
    fn directories_list_their_entries() {
        let loader = LibLoader::new(kiln_eval::FsLoader);
        let root = loader.read_dir(Path::new(LIB_ROOT)).unwrap();
        assert!(root.contains(&("profiles".to_string(), FileType::Directory)));
        assert!(loader.exists(Path::new("/@kiln/profiles/installer/cd-dvd/iso-image.nix")));
        assert!(!loader.exists(Path::new("/@kiln/profiles/nope.nix")));
    }
}
