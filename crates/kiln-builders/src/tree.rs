//! Merging unpacked Debian packages into one root, as dpkg would lay them out on a merged-/usr
//! system (bookworm's default): `/bin`, `/sbin`, `/lib` and `/lib64` are symlinks into `/usr`,
//! and a package's `/bin/sh` lands at `/usr/bin/sh`, as `usr-is-merged` requires.
//!
//! Two ways ([`How`]):
//! - `Link`: hard links into the store, for read-only trees (the sandbox roots programs run
//!   in). Nothing may write to such a tree: its files are the store's.
//! - `Copy`: real files with the modes (setuid included) and owners the packages' manifests
//!   give (`.kiln-deb/files`, see kiln-debian), for a root that dpkg and maintainer scripts
//!   then change. Copies, not links, so no script can write through to the store. Names
//!   resolve through `base-passwd`'s master files, as dpkg resolves them on a fresh system.
//!   As root, owners are set on the inodes. Otherwise they cannot be: each inode owned by
//!   someone other than root, or whose mode would lock its owner out (no owner read or write,
//!   no search for a directory), is returned as a [`fakeroot::Record`] with the owner and mode
//!   it should have, for fakeroot to present, and its real mode keeps the owner's access.
//!
//! A path that two packages ship goes to the first (dpkg would refuse the second without
//! `Replaces`); the count is reported. Files are placed in parallel; the result does not
//! depend on the order they land in.

use crate::error::{BuilderError, Result};
use crate::fakeroot;
use rayon::prelude::*;
use std::collections::{BTreeMap, HashMap};
use std::path::{Component, Path, PathBuf};

/// The top-level directories that are symlinks into `/usr` on a merged-/usr system (amd64).
const MERGED: &[&str] = &["bin", "sbin", "lib", "lib64"];

/// Where an unpacked package keeps its control area (kiln-debian's `CONTROL_DIR`).
const CONTROL_DIR: &str = kiln_debian::CONTROL_DIR;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum How {
    Link,
    Copy,
}

/// What a merge did.
#[derive(Debug, Default)]
pub(crate) struct Merged {
    /// Paths more than one package ships (the first package's kept).
    pub(crate) conflicts: usize,
    /// Regular files placed.
    pub(crate) files: usize,
    /// `Copy` without root: the inodes whose owner or mode the merge could not set (see the
    /// module comment), sorted by path.
    pub(crate) unowned: Vec<fakeroot::Record>,
}

#[derive(Clone, Debug)]
enum Kind {
    Dir,
    File(PathBuf),
    Symlink(PathBuf),
}

#[derive(Clone, Debug)]
struct Node {
    kind: Kind,
    /// The package's index, for its manifest.
    package: usize,
    /// The path as the package names it (`/bin/sh`), for its manifest.
    original: String,
}

/// One line of a package's manifest: mode and owner.
#[derive(Clone, Debug)]
struct Meta {
    mode: u32,
    uid: u32,
    gid: u32,
    user: String,
    group: String,
}

/// Merges `packages` (unpacked package trees, in order) into `dest`, which must not exist.
pub(crate) fn merge_packages(packages: &[&Path], dest: &Path, how: How) -> Result<Merged> {
    let as_root =
        how == How::Copy && crate::sandbox::privilege()? == crate::sandbox::Privilege::Root;
    merge(packages, dest, how, as_root)
}

/// [`merge_packages`], setting owners on the inodes (`as_root`) or recording them.
fn merge(packages: &[&Path], dest: &Path, how: How, as_root: bool) -> Result<Merged> {
    let mut plan: BTreeMap<PathBuf, Node> = BTreeMap::new();
    let mut merged = Merged::default();
    for (index, package) in packages.iter().enumerate() {
        walk(package, Path::new(""), index, &mut plan, &mut merged)?;
    }
    std::fs::create_dir(dest).map_err(BuilderError::io("create", dest))?;
    crate::set_mode(dest, 0o755)?;
    for dir in MERGED {
        let usr = Path::new("usr").join(dir);
        plan.entry(usr).or_insert(Node {
            kind: Kind::Dir,
            package: usize::MAX,
            original: String::new(),
        });
        let link = dest.join(dir);
        std::os::unix::fs::symlink(Path::new("usr").join(dir), &link)
            .map_err(BuilderError::io("create", &link))?;
    }
    // Directories first (`usr/bin` may come from `bin` alone, so parents are made too).
    for (rel, node) in &plan {
        if matches!(node.kind, Kind::Dir) {
            let path = dest.join(rel);
            std::fs::create_dir_all(&path).map_err(BuilderError::io("create", &path))?;
        }
    }
    let place = |(rel, node): (&PathBuf, &Node)| -> Result<()> {
        let to = dest.join(rel);
        match &node.kind {
            Kind::Dir => Ok(()),
            Kind::Symlink(target) => {
                std::os::unix::fs::symlink(target, &to).map_err(BuilderError::io("create", &to))
            }
            Kind::File(from) => match how {
                How::Link => crate::link_or_copy(from, &to),
                How::Copy => std::fs::copy(from, &to)
                    .map(drop)
                    .map_err(BuilderError::io("copy to", &to)),
            },
        }
    };
    plan.par_iter().try_for_each(place)?;
    merged.files = plan
        .values()
        .filter(|n| matches!(n.kind, Kind::File(_)))
        .count();
    if how == How::Copy {
        merged.unowned = apply_metadata(packages, dest, &plan, as_root)?;
    }
    Ok(merged)
}

/// Adds `package`'s entries below `rel` to the plan.
fn walk(
    package: &Path,
    rel: &Path,
    index: usize,
    plan: &mut BTreeMap<PathBuf, Node>,
    merged: &mut Merged,
) -> Result<()> {
    let dir = package.join(rel);
    let read = std::fs::read_dir(&dir).map_err(BuilderError::io("list", &dir))?;
    let mut items: Vec<_> = read.filter_map(std::result::Result::ok).collect();
    items.sort_by_key(std::fs::DirEntry::file_name);
    for item in items {
        let name = item.file_name();
        if rel.as_os_str().is_empty() && name == CONTROL_DIR {
            continue;
        }
        let child = rel.join(&name);
        let from = item.path();
        let kind = item.file_type().map_err(BuilderError::io("read", &from))?;
        let node_kind = if kind.is_dir() {
            Kind::Dir
        } else if kind.is_symlink() {
            Kind::Symlink(std::fs::read_link(&from).map_err(BuilderError::io("read", &from))?)
        } else if kind.is_file() {
            Kind::File(from.clone())
        } else {
            continue;
        };
        let target = merged_path(&child);
        match plan.get(&target) {
            Some(existing) => {
                if !(matches!(existing.kind, Kind::Dir) && matches!(node_kind, Kind::Dir)) {
                    merged.conflicts += 1;
                    continue;
                }
            }
            None => {
                plan.insert(
                    target,
                    Node {
                        kind: node_kind.clone(),
                        package: index,
                        original: format!("/{}", child.display()),
                    },
                );
            }
        }
        if matches!(node_kind, Kind::Dir) {
            walk(package, &child, index, plan, merged)?;
        }
    }
    Ok(())
}

/// `bin/sh` → `usr/bin/sh`: the path on a merged-/usr system.
fn merged_path(rel: &Path) -> PathBuf {
    let mut parts = rel.components();
    match parts.next() {
        Some(Component::Normal(first))
            if MERGED.iter().any(|m| first == std::ffi::OsStr::new(m)) =>
        {
            Path::new("usr").join(first).join(parts.as_path())
        }
        _ => rel.to_path_buf(),
    }
}

/// Sets each copied path's mode and (as root) owner from its package's manifest; without root,
/// returns the records of what it could not set.
fn apply_metadata(
    packages: &[&Path],
    dest: &Path,
    plan: &BTreeMap<PathBuf, Node>,
    as_root: bool,
) -> Result<Vec<fakeroot::Record>> {
    let manifests: Vec<HashMap<String, Meta>> = packages
        .par_iter()
        .map(|p| read_manifest(p))
        .collect::<Result<_>>()?;
    let names = Names::from_packages(packages);
    let unowned: Vec<Option<fakeroot::Record>> = plan
        .par_iter()
        .map(|(rel, node)| -> Result<Option<fakeroot::Record>> {
            if matches!(node.kind, Kind::Symlink(_)) {
                // Symlinks carry no mode; their owner is root's in every Debian package.
                return Ok(None);
            }
            let Some(meta) = manifests
                .get(node.package)
                .and_then(|m| m.get(&node.original))
            else {
                return Ok(None);
            };
            let path = dest.join(rel);
            let uid = names.uid(&meta.user).unwrap_or(meta.uid);
            let gid = names.gid(&meta.group).unwrap_or(meta.gid);
            if as_root {
                std::os::unix::fs::lchown(&path, Some(uid), Some(gid))
                    .map_err(BuilderError::io("set the owner of", &path))?;
                // After chown, which clears setuid and setgid.
                return crate::set_mode(&path, meta.mode).map(|()| None);
            }
            let workable = fakeroot::workable_mode(meta.mode, matches!(node.kind, Kind::Dir));
            crate::set_mode(&path, workable)?;
            if (uid, gid) == (0, 0) && workable == meta.mode {
                return Ok(None);
            }
            fakeroot::Record::of(&path, uid, gid, meta.mode).map(Some)
        })
        .collect::<Result<_>>()?;
    // `plan` is ordered by path, and the parallel map keeps that order.
    Ok(unowned.into_iter().flatten().collect())
}

/// A package's `.kiln-deb/files`, by path.
fn read_manifest(package: &Path) -> Result<HashMap<String, Meta>> {
    let path = package.join(CONTROL_DIR).join(kiln_debian::FILES_MANIFEST);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(HashMap::new()),
        Err(e) => return Err(BuilderError::io("read", &path)(e)),
    };
    let mut map = HashMap::new();
    for line in text.lines() {
        let fields: Vec<&str> = line.split('\t').collect();
        let [_, mode, uid, gid, user, group, file, ..] = fields.as_slice() else {
            continue;
        };
        let parse = |s: &str| s.parse::<u32>().ok();
        let (Ok(mode), Some(uid), Some(gid)) =
            (u32::from_str_radix(mode, 8), parse(uid), parse(gid))
        else {
            continue;
        };
        // The manifest writes the root as `/.`; its paths are absolute.
        let key = if *file == "/." {
            "/".to_string()
        } else {
            (*file).to_string()
        };
        map.insert(
            key,
            Meta {
                mode,
                uid,
                gid,
                user: (*user).to_string(),
                group: (*group).to_string(),
            },
        );
    }
    Ok(map)
}

/// User and group names, from `base-passwd`'s master files when a package ships them.
#[derive(Default)]
struct Names {
    users: HashMap<String, u32>,
    groups: HashMap<String, u32>,
}

impl Names {
    fn from_packages(packages: &[&Path]) -> Names {
        let read = |file: &str| -> HashMap<String, u32> {
            packages
                .iter()
                .map(|p| p.join("usr/share/base-passwd").join(file))
                .find_map(|p| std::fs::read_to_string(p).ok())
                .map(|text| {
                    text.lines()
                        .filter_map(|line| {
                            let mut fields = line.split(':');
                            let name = fields.next()?;
                            let id = fields.nth(1)?.parse().ok()?;
                            Some((name.to_string(), id))
                        })
                        .collect()
                })
                .unwrap_or_default()
        };
        Names {
            users: read("passwd.master"),
            groups: read("group.master"),
        }
    }

    fn uid(&self, name: &str) -> Option<u32> {
        self.users.get(name).copied()
    }

    fn gid(&self, name: &str) -> Option<u32> {
        self.groups.get(name).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn top_level_directories_merge_into_usr() {
        assert_eq!(merged_path(Path::new("bin/sh")), Path::new("usr/bin/sh"));
        assert_eq!(merged_path(Path::new("lib64")), Path::new("usr/lib64"));
        assert_eq!(merged_path(Path::new("usr/bin/x")), Path::new("usr/bin/x"));
        assert_eq!(merged_path(Path::new("library/x")), Path::new("library/x"));
    }

    #[test]
    fn packages_merge_on_merged_usr_with_their_modes() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a");
        let b = dir.path().join("b");
        for (pkg, file, body) in [(&a, "bin/tool", "a"), (&b, "usr/bin/tool", "b")] {
            std::fs::create_dir_all(pkg.join(file).parent().unwrap()).unwrap();
            std::fs::write(pkg.join(file), body).unwrap();
        }
        std::fs::create_dir_all(a.join(CONTROL_DIR)).unwrap();
        std::fs::write(
            a.join(CONTROL_DIR).join("files"),
            "d\t755\t0\t0\t-\t-\t/.\nd\t755\t0\t0\t-\t-\t/bin\nf\t4750\t0\t0\t-\t-\t/bin/tool\n",
        )
        .unwrap();
        std::os::unix::fs::symlink("tool", b.join("usr/bin/alias")).unwrap();
        let out = dir.path().join("out");
        let merged = merge_packages(&[&a, &b], &out, How::Copy).unwrap();
        assert_eq!(merged.conflicts, 1, "usr/bin/tool comes from both");
        assert_eq!(
            std::fs::read_link(out.join("bin")).unwrap(),
            Path::new("usr/bin")
        );
        assert_eq!(
            std::fs::read_to_string(out.join("usr/bin/tool")).unwrap(),
            "a"
        );
        let mode = std::fs::metadata(out.join("usr/bin/tool"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o7777, 0o4750);
        assert_eq!(
            std::fs::read_link(out.join("usr/bin/alias")).unwrap(),
            Path::new("tool")
        );
        assert!(!out.join(CONTROL_DIR).exists());
    }

    #[test]
    fn without_root_owners_and_locking_modes_are_recorded() {
        let dir = tempfile::tempdir().unwrap();
        let pkg = dir.path().join("pkg");
        std::fs::create_dir_all(pkg.join("usr/bin")).unwrap();
        std::fs::create_dir_all(pkg.join("var/mail")).unwrap();
        std::fs::create_dir_all(pkg.join("etc/closed")).unwrap();
        std::fs::write(pkg.join("usr/bin/chage"), "elf").unwrap();
        std::fs::write(pkg.join("usr/bin/sudo"), "elf").unwrap();
        std::fs::create_dir_all(pkg.join(CONTROL_DIR)).unwrap();
        std::fs::write(
            pkg.join(CONTROL_DIR).join("files"),
            "d\t755\t0\t0\troot\troot\t/.\n\
             f\t2755\t0\t42\troot\tshadow\t/usr/bin/chage\n\
             f\t4755\t0\t0\troot\troot\t/usr/bin/sudo\n\
             d\t2775\t0\t8\troot\tmail\t/var/mail\n\
             d\t555\t0\t0\troot\troot\t/etc/closed\n",
        )
        .unwrap();
        let out = dir.path().join("out");
        let merged = merge(&[&pkg], &out, How::Copy, false).unwrap();
        let mode = |rel: &str| {
            std::fs::symlink_metadata(out.join(rel))
                .unwrap()
                .permissions()
                .mode()
        };
        let of = |rel: &str, uid, gid, mode| fakeroot::Record::of(&out.join(rel), uid, gid, mode);
        // In path order; sudo is root's with a mode its owner can use: nothing to record.
        assert_eq!(
            merged.unowned,
            [
                of("etc/closed", 0, 0, 0o555).unwrap(),
                of("usr/bin/chage", 0, 42, 0o2755).unwrap(),
                of("var/mail", 0, 8, 0o2775).unwrap(),
            ]
        );
        assert_eq!(merged.unowned[0].mode, 0o040_555);
        // The real modes keep the owner's access.
        assert_eq!(mode("etc/closed") & 0o7777, 0o755);
        assert_eq!(mode("usr/bin/chage") & 0o7777, 0o2755);
        assert_eq!(mode("usr/bin/sudo") & 0o7777, 0o4755);
    }
}

/// The `package-tree` builder: packages merged by hard links into a read-only root for the
/// sandbox (a compiler's closure, say), with the mount points the sandbox needs.
pub(crate) struct PackageTree;

pub(crate) const PACKAGE_TREE: &str = "package-tree";

/// What `package-tree` reads.
#[derive(serde::Deserialize)]
struct PackageTreeInputs {
    /// Unpacked packages, merged in order (the first to ship a path wins); none gives an
    /// empty merged-/usr root.
    #[serde(default)]
    packages: Vec<kiln_store::inputs::StorePath>,
    /// Extra symlinks, path → target: what a configured system would have made (an
    /// alternative such as `usr/bin/awk` → `mawk`); a path already there is an error.
    #[serde(default, deserialize_with = "kiln_store::inputs::json")]
    symlinks: BTreeMap<String, String>,
}

impl kiln_store::Builder for PackageTree {
    fn check(
        &self,
        drv: &kiln_store::Derivation,
        inputs: &[PathBuf],
    ) -> std::result::Result<(), kiln_store::BuildError> {
        kiln_store::inputs::check::<PackageTreeInputs>(drv, inputs)
            .map_err(kiln_store::BuildError::new)?;
        Ok(())
    }

    fn build(
        &self,
        drv: &kiln_store::Derivation,
        inputs: &[PathBuf],
        out: &Path,
        events: &dyn kiln_store::Events,
    ) -> std::result::Result<(), kiln_store::BuildError> {
        let inputs: PackageTreeInputs =
            kiln_store::inputs::parse(drv, inputs).map_err(kiln_store::BuildError::new)?;
        let packages: Vec<&Path> = inputs.packages.iter().map(|p| p.path()).collect();
        let merged = merge_packages(&packages, out, How::Link)?;
        if merged.conflicts > 0 {
            events.message(
                drv,
                &format!(
                    "{} path(s) shipped by more than one package; the first kept",
                    merged.conflicts
                ),
            );
        }
        for dir in ["proc", "dev", "sys", "tmp", "run", "root", "etc"] {
            let path = out.join(dir);
            if std::fs::symlink_metadata(&path).is_err() {
                std::fs::create_dir(&path).map_err(BuilderError::io("create", &path))?;
            }
        }
        for (at, target) in &inputs.symlinks {
            let rel = Path::new(at);
            if rel.is_absolute() || rel.components().any(|c| !matches!(c, Component::Normal(_))) {
                return Err(BuilderError::invalid(format!(
                    "symlink `{at}` must be a relative path"
                ))
                .into());
            }
            let path = out.join(rel);
            std::os::unix::fs::symlink(target, &path).map_err(BuilderError::io("create", &path))?;
        }
        Ok(())
    }
}
