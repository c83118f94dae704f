//! kiln-module: the NixOS-style module system and the `lib` profiles receive.
//!
//! Both are written in the Nix language (`lib/*.nix`, see `lib/README.md` for the semantics):
//! they are clearer there, `nix-instantiate` can run them as an oracle, and kiln's evaluator runs
//! them unchanged. This crate embeds those files in the binary and serves them to the evaluator
//! under a virtual directory, so `import <kiln/lib>` works from any expression and any checkout.
//!
//! ```
//! use kiln_eval::{EvalOptions, Evaluator, FsLoader};
//! let options = EvalOptions { search_path: vec![kiln_module::search_path_entry()], ..EvalOptions::default() };
//! let mut ev = Evaluator::new(options, Box::new(kiln_module::LibLoader::new(FsLoader)));
//! let file = ev.sources_mut().add_virtual("«string»", std::path::Path::new("/"),
//!     "(import <kiln/lib>).optionalString true \"x\"");
//! let value = ev.eval_source(file).unwrap();
//! assert_eq!(ev.print(&value, true).unwrap(), "\"x\"");
//! ```

use kiln_eval::{FileType, Loader, SearchPathEntry};
use std::io;
use std::path::Path;

/// Where the embedded files appear to the evaluator. It is not a real directory: a name that
/// no file system path of a user's is likely to shadow, and that error messages show readably.
pub const LIB_ROOT: &str = "/@kiln";

/// The embedded files, relative to [`LIB_ROOT`]. A test checks this list against `lib/`.
const FILES: &[(&str, &str)] = &[
    ("lib/attrsets.nix", include_str!("../lib/attrsets.nix")),
    ("lib/default.nix", include_str!("../lib/default.nix")),
    ("lib/lists.nix", include_str!("../lib/lists.nix")),
    ("lib/modules.nix", include_str!("../lib/modules.nix")),
    ("lib/options.nix", include_str!("../lib/options.nix")),
    ("lib/strings.nix", include_str!("../lib/strings.nix")),
    ("lib/trivial.nix", include_str!("../lib/trivial.nix")),
    ("lib/types.nix", include_str!("../lib/types.nix")),
];

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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_lib_file_is_embedded() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("lib");
        let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| format!("lib/{}", e.unwrap().file_name().to_string_lossy()))
            .filter(|n| n.ends_with(".nix"))
            .collect();
        on_disk.sort();
        let embedded: Vec<String> = FILES.iter().map(|(n, _)| n.to_string()).collect();
        assert_eq!(on_disk, embedded);
    }
}
