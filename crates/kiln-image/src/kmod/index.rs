//! Indexing module trees: every `.ko` (also `.ko.xz`, `.ko.zst`) under a
//! `lib/modules/<version>` root, keyed by module name, with its `.modinfo` read in parallel.
//!
//! Precedence, as depmod with NixOS's aggregated module trees: a later tree overrides an
//! earlier one (so `boot.extraModulePackages` wins over the kernel), and inside one tree
//! `updates/` wins over `extra/`, which wins over everything else (`depmod.d(5)` `search`
//! default: "updates built-in", extra being the out-of-tree default). Two files with one name
//! at the same precedence are an error rather than a silent pick.

use super::modinfo::{parse_modinfo, read_modinfo, ModInfo};
use crate::ImageError;
use rayon::prelude::*;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// A module tree: `root` is a `lib/modules/<version>` directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModuleTree {
    pub root: PathBuf,
}

/// One indexed module.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Module {
    pub name: String,
    /// Path relative to its tree root, `/`-separated: `kernel/net/wireless/cfg80211.ko`. It is
    /// the module's path in the initrd's `lib/modules/<version>` and in `modules.dep`.
    pub rel_path: String,
    /// The file on disk.
    pub source: PathBuf,
    pub info: ModInfo,
}

/// All modules by normalised name, and what the kernel has built in.
#[derive(Clone, Debug, Default)]
pub struct ModuleIndex {
    pub modules: BTreeMap<String, Module>,
    /// Names from `modules.builtin` (shipped by Debian's kernel packages): requesting one of
    /// these is satisfied without a file, as `modprobe` does.
    pub builtin: BTreeSet<String>,
    /// `(alias pattern, module)` from `modules.builtin.modinfo` (`ext4.alias=fs-ext4`).
    pub builtin_aliases: Vec<(String, String)>,
}

impl ModuleIndex {
    /// Builds an index from already-read modules, applying the same precedence rules; tests
    /// and callers with their own file listing use this.
    pub fn from_modules(
        modules: impl IntoIterator<Item = (usize, Module)>,
    ) -> Result<ModuleIndex, ImageError> {
        let mut ranked: BTreeMap<String, ((usize, u8), Module)> = BTreeMap::new();
        for (tree_idx, module) in modules {
            let rank = (tree_idx, dir_rank(&module.rel_path));
            match ranked.get(&module.name) {
                Some((old_rank, old)) if *old_rank == rank => {
                    return Err(ImageError::DuplicateModule {
                        name: module.name.clone(),
                        first: old.source.clone(),
                        second: module.source,
                    });
                }
                Some((old_rank, _)) if *old_rank > rank => {}
                _ => {
                    ranked.insert(module.name.clone(), (rank, module));
                }
            }
        }
        Ok(ModuleIndex {
            modules: ranked.into_iter().map(|(name, (_, m))| (name, m)).collect(),
            builtin: BTreeSet::new(),
            builtin_aliases: Vec::new(),
        })
    }

    pub fn get(&self, name: &str) -> Option<&Module> {
        self.modules.get(&super::normalize_name(name))
    }

    /// The built-in module that `name` (a name or an alias) refers to, if any.
    pub fn builtin(&self, name: &str) -> Option<String> {
        let normalized = super::normalize_name(name);
        if self.builtin.contains(&normalized) {
            return Some(normalized);
        }
        self.builtin_aliases
            .iter()
            .find(|(pattern, _)| super::fnmatch(pattern.as_bytes(), name.as_bytes()))
            .map(|(_, module)| module.clone())
    }
}

/// `updates/` 2, `extra/` 1, anything else 0.
fn dir_rank(rel_path: &str) -> u8 {
    if rel_path.starts_with("updates/") {
        2
    } else if rel_path.starts_with("extra/") {
        1
    } else {
        0
    }
}

/// The index file the `aggregate-modules` step writes next to `modules.dep`, so later steps
/// (initrd, rootfs) read one file instead of the `.modinfo` of 4 000 modules. depmod's files
/// cannot serve: `modules.dep` keeps no direct edges or softdeps, and nothing keeps `firmware=`.
pub const INDEX_FILE: &str = "modules.kiln-index";

/// First line of [`INDEX_FILE`]; a file with another one is scanned again rather than misread.
const INDEX_MAGIC: &[u8] = b"kiln-modules-index 1\n";

impl ModuleIndex {
    /// [`INDEX_FILE`]'s contents: per module, `path=<rel_path>` and the `.modinfo` strings kiln
    /// uses, each NUL-terminated, then an empty string. Reading it back goes through
    /// [`parse_modinfo`], the parser of the modules' own sections.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = INDEX_MAGIC.to_vec();
        fn put(out: &mut Vec<u8>, key: &str, value: &str) {
            out.extend_from_slice(key.as_bytes());
            out.push(b'=');
            out.extend_from_slice(value.as_bytes());
            out.push(0);
        }
        for module in self.modules.values() {
            let info = &module.info;
            put(&mut out, "path", &module.rel_path);
            put(&mut out, "name", &module.name);
            if !info.depends.is_empty() {
                put(&mut out, "depends", &info.depends.join(","));
            }
            if !info.softdep_pre.is_empty() || !info.softdep_post.is_empty() {
                let mut softdep = String::new();
                for (mode, names) in [("pre:", &info.softdep_pre), ("post:", &info.softdep_post)] {
                    if !names.is_empty() {
                        softdep.push_str(mode);
                        for name in names {
                            softdep.push(' ');
                            softdep.push_str(name);
                        }
                        softdep.push(' ');
                    }
                }
                put(&mut out, "softdep", softdep.trim_end());
            }
            for firmware in &info.firmware {
                put(&mut out, "firmware", firmware);
            }
            for alias in &info.aliases {
                put(&mut out, "alias", alias);
            }
            if let Some(vermagic) = &info.vermagic {
                put(&mut out, "vermagic", vermagic);
            }
            out.push(0);
        }
        out
    }
}

/// The index of one `lib/modules/<version>` tree: from its [`INDEX_FILE`] when it has one (an
/// `aggregate-modules` output), else by reading every module, as [`index_modules`].
pub fn open_index(root: &Path) -> Result<ModuleIndex, ImageError> {
    let file = root.join(INDEX_FILE);
    let bytes = match std::fs::read(&file) {
        Ok(bytes) if bytes.starts_with(INDEX_MAGIC) => bytes,
        Ok(_) => return index_modules(&[ModuleTree { root: root.into() }]),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return index_modules(&[ModuleTree { root: root.into() }])
        }
        Err(e) => {
            return Err(ImageError::Io {
                path: file,
                source: e,
            })
        }
    };
    let mut modules = Vec::new();
    let mut rest = &bytes[INDEX_MAGIC.len()..];
    while !rest.is_empty() {
        // A record ends at the first empty string: a NUL right after a NUL.
        let mut end = 0;
        loop {
            let nul = rest[end..]
                .iter()
                .position(|&b| b == 0)
                .ok_or_else(|| bad_index(&file, "a record is not terminated"))?;
            if nul == 0 {
                break;
            }
            end += nul + 1;
        }
        let record = &rest[..end];
        rest = &rest[end + 1..];
        let rel_path = record
            .strip_prefix(b"path=")
            .and_then(|r| r.split(|&b| b == 0).next())
            .and_then(|p| std::str::from_utf8(p).ok())
            .ok_or_else(|| bad_index(&file, "a record has no path"))?;
        if rel_path.is_empty() || rel_path.split('/').any(|c| c.is_empty() || c == "..") {
            return Err(bad_index(&file, "a module path leaves the tree"));
        }
        let info = parse_modinfo(record);
        let name = match &info.name {
            Some(name) => super::normalize_name(name),
            None => super::normalize_name(module_stem(rel_path)),
        };
        modules.push((
            0,
            Module {
                name,
                rel_path: rel_path.to_owned(),
                source: root.join(rel_path),
                info,
            },
        ));
    }
    let mut index = ModuleIndex::from_modules(modules)?;
    read_builtin(root, &mut index)?;
    index.builtin_aliases.sort();
    index.builtin_aliases.dedup();
    Ok(index)
}

fn bad_index(file: &Path, reason: &str) -> ImageError {
    ImageError::BadModule {
        path: file.to_path_buf(),
        reason: format!("not a kiln module index: {reason}"),
    }
}

/// Indexes every module file under the trees, reading `.modinfo` on all rayon threads. The
/// result does not depend on the thread count: files are listed and sorted first.
pub fn index_modules(trees: &[ModuleTree]) -> Result<ModuleIndex, ImageError> {
    let mut files = Vec::new();
    for (tree_idx, tree) in trees.iter().enumerate() {
        let mut found = Vec::new();
        list_module_files(&tree.root, "", &mut found)?;
        found.sort();
        files.extend(found.into_iter().map(|rel| (tree_idx, rel)));
    }
    let modules: Vec<(usize, Module)> = files
        .into_par_iter()
        .map(|(tree_idx, rel_path)| {
            let source = trees[tree_idx].root.join(&rel_path);
            let info = read_modinfo(&source)?;
            let name = match &info.name {
                Some(name) => super::normalize_name(name),
                None => super::normalize_name(module_stem(&rel_path)),
            };
            Ok((
                tree_idx,
                Module {
                    name,
                    rel_path,
                    source,
                    info,
                },
            ))
        })
        .collect::<Result<_, ImageError>>()?;
    let mut index = ModuleIndex::from_modules(modules)?;
    for tree in trees {
        read_builtin(&tree.root, &mut index)?;
    }
    index.builtin_aliases.sort();
    index.builtin_aliases.dedup();
    Ok(index)
}

/// Reads `modules.builtin` (one `kernel/…/name.ko` per line) and `modules.builtin.modinfo`
/// (NUL-separated `module.key=value`, `Documentation/kbuild/kbuild.rst`) if the tree has them.
fn read_builtin(root: &Path, index: &mut ModuleIndex) -> Result<(), ImageError> {
    let list = root.join("modules.builtin");
    match std::fs::read_to_string(&list) {
        Ok(text) => {
            let names = text
                .lines()
                .filter(|l| !l.is_empty())
                .map(|l| super::normalize_name(module_stem(l)));
            index.builtin.extend(names);
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => {
            return Err(ImageError::Io {
                path: list,
                source: e,
            })
        }
    }
    let modinfo = root.join("modules.builtin.modinfo");
    match std::fs::read(&modinfo) {
        Ok(bytes) => {
            for raw in bytes.split(|&b| b == 0) {
                let Ok(text) = std::str::from_utf8(raw) else {
                    continue;
                };
                let Some((key, alias)) = text.split_once('=') else {
                    continue;
                };
                if let Some(module) = key.strip_suffix(".alias") {
                    index
                        .builtin_aliases
                        .push((alias.to_owned(), super::normalize_name(module)));
                }
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => {
            return Err(ImageError::Io {
                path: modinfo,
                source: e,
            })
        }
    }
    Ok(())
}

/// The file name without directory and `.ko[.xz|.zst]`.
pub(crate) fn module_stem(rel_path: &str) -> &str {
    let file = rel_path.rsplit('/').next().unwrap_or(rel_path);
    for suffix in [".ko.xz", ".ko.zst", ".ko.gz", ".ko"] {
        if let Some(stem) = file.strip_suffix(suffix) {
            return stem;
        }
    }
    file
}

fn is_module_file(name: &str) -> bool {
    name.ends_with(".ko") || name.ends_with(".ko.xz") || name.ends_with(".ko.zst")
}

/// Recursively collects module files, following symlinks (NixOS module trees are symlink
/// farms). `build/` and `source/` links into kernel headers are skipped, as depmod does.
fn list_module_files(dir: &Path, rel: &str, out: &mut Vec<String>) -> Result<(), ImageError> {
    let entries = std::fs::read_dir(dir).map_err(ImageError::io(dir))?;
    for entry in entries {
        let entry = entry.map_err(ImageError::io(dir))?;
        let Ok(name) = entry.file_name().into_string() else {
            continue;
        };
        if rel.is_empty() && (name == "build" || name == "source") {
            continue;
        }
        let path = entry.path();
        let rel_child = if rel.is_empty() {
            name.clone()
        } else {
            format!("{rel}/{name}")
        };
        let meta = std::fs::metadata(&path).map_err(ImageError::io(&path))?;
        if meta.is_dir() {
            list_module_files(&path, &rel_child, out)?;
        } else if meta.is_file() && is_module_file(&name) {
            out.push(rel_child);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn module(name: &str, rel: &str) -> Module {
        Module {
            name: name.into(),
            rel_path: rel.into(),
            source: rel.into(),
            info: ModInfo::default(),
        }
    }

    #[test]
    fn precedence() {
        let index = ModuleIndex::from_modules([
            (0, module("wl", "kernel/drivers/wl.ko")),
            (0, module("wl", "updates/wl.ko")),
            (0, module("a", "extra/a.ko")),
            (1, module("a", "kernel/a.ko")),
        ])
        .unwrap();
        assert_eq!(index.get("wl").unwrap().rel_path, "updates/wl.ko");
        assert_eq!(index.get("a").unwrap().rel_path, "kernel/a.ko");
        let dup = ModuleIndex::from_modules([
            (0, module("b", "kernel/x/b.ko")),
            (0, module("b", "kernel/y/b.ko")),
        ]);
        assert!(matches!(dup, Err(ImageError::DuplicateModule { .. })));
    }

    #[test]
    fn stems() {
        assert_eq!(module_stem("kernel/a/snd-hda-intel.ko"), "snd-hda-intel");
        assert_eq!(module_stem("x.ko.xz"), "x");
    }

    #[test]
    fn index_file_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let info = |raw: &[u8]| parse_modinfo(raw);
        let index = ModuleIndex::from_modules([
            (
                0,
                Module {
                    info: info(b"name=wl\0depends=cfg80211,lib80211\0softdep=pre: crc32c post: x-y\0\
firmware=brcm/b*.txt\0firmware=brcm/a.bin\0alias=pci:v000014E4d*\0alias=net-pf-99\0vermagic=6.1.0 SMP mod_unload\0"),
                    ..module("wl", "extra/wl.ko")
                },
            ),
            (0, module("cfg80211", "kernel/net/wireless/cfg80211.ko")),
            (
                0,
                Module {
                    info: info(b"softdep=post: only-post\0"),
                    ..module("snd_hda_intel", "kernel/sound/snd-hda-intel.ko")
                },
            ),
        ])
        .unwrap();
        std::fs::write(dir.path().join(INDEX_FILE), index.encode()).unwrap();
        std::fs::write(
            dir.path().join("modules.builtin"),
            "kernel/fs/ext4/ext4.ko\n",
        )
        .unwrap();
        let read = open_index(dir.path()).unwrap();
        assert_eq!(read.builtin.iter().collect::<Vec<_>>(), ["ext4"]);
        let expected: Vec<_> = index
            .modules
            .values()
            .map(|m| {
                (
                    m.name.clone(),
                    m.rel_path.clone(),
                    dir.path().join(&m.rel_path),
                    m.info.clone(),
                )
            })
            .collect();
        let got: Vec<_> = read
            .modules
            .values()
            .map(|m| {
                // The index stores the resolved name, so `name=` is always present.
                let mut info = m.info.clone();
                if index.modules[&m.name].info.name.is_none() {
                    info.name = None;
                }
                (m.name.clone(), m.rel_path.clone(), m.source.clone(), info)
            })
            .collect();
        assert_eq!(got, expected);

        // A truncated or foreign file is an error or a rescan, never a wrong index.
        let mut bytes = index.encode();
        bytes.truncate(bytes.len() - 1);
        std::fs::write(dir.path().join(INDEX_FILE), &bytes).unwrap();
        assert!(matches!(
            open_index(dir.path()),
            Err(ImageError::BadModule { .. })
        ));
        std::fs::write(
            dir.path().join(INDEX_FILE),
            b"kiln-modules-index 1\npath=../x.ko\0\0",
        )
        .unwrap();
        assert!(open_index(dir.path()).is_err());
        std::fs::write(dir.path().join(INDEX_FILE), b"something else").unwrap();
        assert!(open_index(dir.path()).unwrap().modules.is_empty());
    }
}
