//! The live root: `rootfs` merges unpacked Debian packages, the kernel's modules and the firmware
//! into one tree; `squashfs` packs a tree into a squashfs image.
//!
//! The tree is made of hard links into the store (the store and its scratch space share a file
//! system), so merging a gigabyte of packages moves no data. Generated files replace links
//! (never write through one: that would change the store entry it shares an inode with).
//! Maintainer scripts are not run; what a live system needs from them is done here (busybox
//! applets where no package provides the command) or by an earlier step (`modules.dep` and
//! friends for `modprobe` come with the `aggregate-modules` tree).

use super::{env, env_list, io, link_or_copy};
use kiln_image::squashfs::{write_squashfs, SquashfsCompression, SquashfsOptions};
use kiln_store::{Builder, Derivation, Events};
use std::path::{Path, PathBuf};

pub(crate) const ROOTFS: &str = "rootfs";
pub(crate) const SQUASHFS: &str = "squashfs";

/// `rootfs`: env `packages` (unpacked packages, merged in order, the first to ship a path wins),
/// `modulesTree` (optional; an `aggregate-modules` output: the kernel's modules with `modules.dep` and the
/// other files `modprobe` reads), `firmware` (packages whose `lib/firmware` is merged into
/// `/lib/firmware`), `files` (JSON `{ "etc/hostname": { "text": …, "mode": "0644" } }`).
pub(crate) struct Rootfs;

impl Builder for Rootfs {
    fn build(
        &self,
        drv: &Derivation,
        _: &[PathBuf],
        out: &Path,
        events: &dyn Events,
    ) -> Result<(), String> {
        std::fs::create_dir(out).map_err(|e| io(out, e))?;
        let mut conflicts = 0usize;
        for package in env_list(drv, "packages") {
            conflicts += link_tree(Path::new(package), out)?;
        }
        if conflicts > 0 {
            events.message(drv, &format!("{conflicts} path(s) shipped by more than one package; the first package's kept"));
        }
        if let Ok(tree) = env(drv, "modulesTree") {
            link_tree(
                &Path::new(tree).join("lib/modules"),
                &out.join("lib/modules"),
            )?;
        }
        for package in env_list(drv, "firmware") {
            link_tree(
                &Path::new(package).join("lib/firmware"),
                &out.join("lib/firmware"),
            )?;
        }
        install_busybox_applets(out)?;
        let files: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(env(drv, "files").unwrap_or("{}"))
                .map_err(|e| format!("`files`: {e}"))?;
        for (name, spec) in &files {
            let text = spec["text"]
                .as_str()
                .ok_or_else(|| format!("`files.{name}` has no `text`"))?;
            let mode = spec["mode"].as_str().unwrap_or("0644");
            let mode = u32::from_str_radix(mode, 8)
                .map_err(|_| format!("`files.{name}`: bad mode `{mode}`"))?;
            write_generated(out, name, text.as_bytes(), mode)?;
        }
        for (dir, mode) in [
            ("dev", 0o755),
            ("proc", 0o555),
            ("sys", 0o555),
            ("run", 0o755),
            ("tmp", 0o1777),
            ("root", 0o700),
            ("iso", 0o755),
            ("mnt", 0o755),
            ("var/tmp", 0o1777),
            ("var/log", 0o755),
        ] {
            let path = out.join(dir);
            if std::fs::symlink_metadata(&path).is_err() {
                std::fs::create_dir_all(&path).map_err(|e| io(&path, e))?;
                set_mode(&path, mode)?;
            }
        }
        Ok(())
    }
}

fn set_mode(path: &Path, mode: u32) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).map_err(|e| io(path, e))
}

/// Links every file of `src` into `dst` (hard links; symlinks copied); returns how many paths
/// `dst` had already. Symlinks in `dst` are never followed: one could point out of the root
/// (an absolute `/lib64 -> /usr/lib64` resolves on the build host), so a directory meeting a
/// symlink counts as a conflict.
fn link_tree(src: &Path, dst: &Path) -> Result<usize, String> {
    let Ok(read) = std::fs::read_dir(src) else {
        return Ok(0);
    };
    if std::fs::symlink_metadata(dst).is_err() {
        std::fs::create_dir_all(dst).map_err(|e| io(dst, e))?;
        set_mode(dst, 0o755)?;
    }
    let mut items: Vec<_> = read.filter_map(Result::ok).collect();
    items.sort_by_key(std::fs::DirEntry::file_name);
    let mut conflicts = 0;
    for item in items {
        let from = item.path();
        let to = dst.join(item.file_name());
        let kind = item.file_type().map_err(|e| io(&from, e))?;
        if kind.is_dir() {
            match std::fs::symlink_metadata(&to) {
                Ok(meta) if !meta.is_dir() => conflicts += 1,
                _ => conflicts += link_tree(&from, &to)?,
            }
        } else if std::fs::symlink_metadata(&to).is_ok() {
            conflicts += 1;
        } else if kind.is_symlink() {
            let target = std::fs::read_link(&from).map_err(|e| io(&from, e))?;
            std::os::unix::fs::symlink(&target, &to).map_err(|e| io(&to, e))?;
        } else if kind.is_file() {
            link_or_copy(&from, &to)?;
        }
    }
    Ok(conflicts)
}

/// A symlink to busybox for each applet whose path no package provides.
fn install_busybox_applets(root: &Path) -> Result<(), String> {
    let busybox = root.join("bin/busybox");
    if !busybox.is_file() {
        return Ok(());
    }
    let output = std::process::Command::new(&busybox)
        .arg("--list-full")
        .output()
        .map_err(|e| format!("running {} --list-full: {e}", busybox.display()))?;
    for applet in String::from_utf8_lossy(&output.stdout).lines() {
        let applet = applet.trim().trim_start_matches('/');
        if applet.is_empty() {
            continue;
        }
        let name = Path::new(applet).file_name().unwrap_or_default();
        let taken = ["bin", "sbin", "usr/bin", "usr/sbin"]
            .iter()
            .any(|dir| std::fs::symlink_metadata(root.join(dir).join(name)).is_ok());
        if taken {
            continue;
        }
        let path = root.join(applet);
        match path.parent().map(std::fs::symlink_metadata) {
            Some(Ok(meta)) if meta.is_dir() => {}
            // Applets go where a merged tree has a real directory (bin, sbin, usr/bin, usr/sbin).
            _ => continue,
        }
        std::os::unix::fs::symlink("/bin/busybox", &path).map_err(|e| io(&path, e))?;
    }
    Ok(())
}

/// Writes a generated file, replacing (not writing through) whatever link was there.
fn write_generated(root: &Path, name: &str, bytes: &[u8], mode: u32) -> Result<(), String> {
    if name.starts_with('/') || name.split('/').any(|c| c == ".." || c.is_empty()) {
        return Err(format!(
            "generated file `{name}` must be a relative path inside the root"
        ));
    }
    let path = root.join(name);
    // Create the parents one by one, refusing symlinks (see `link_tree`).
    let mut dir = root.to_path_buf();
    for part in Path::new(name)
        .parent()
        .into_iter()
        .flat_map(Path::components)
    {
        dir.push(part);
        match std::fs::symlink_metadata(&dir) {
            Ok(meta) if meta.is_dir() => {}
            Ok(_) => {
                return Err(format!(
                    "cannot write `{name}`: `{}` is not a directory",
                    dir.display()
                ))
            }
            Err(_) => std::fs::create_dir(&dir).map_err(|e| io(&dir, e))?,
        }
    }
    if std::fs::symlink_metadata(&path).is_ok() {
        std::fs::remove_file(&path).map_err(|e| io(&path, e))?;
    }
    std::fs::write(&path, bytes).map_err(|e| io(&path, e))?;
    set_mode(&path, mode)
}

/// `squashfs`: env `tree` (a store path) and `compression` (`zstd`, `xz`, `gzip`). Output:
/// `$out/root.squashfs`.
pub(crate) struct Squashfs;

impl Builder for Squashfs {
    fn build(
        &self,
        drv: &Derivation,
        _: &[PathBuf],
        out: &Path,
        _: &dyn Events,
    ) -> Result<(), String> {
        let tree = Path::new(env(drv, "tree")?);
        let compression = SquashfsCompression::from_config(env(drv, "compression")?)
            .map_err(|e| e.to_string())?;
        let timestamp = kiln_image::iso::source_date_epoch().map_err(|e| e.to_string())?;
        std::fs::create_dir(out).map_err(|e| io(out, e))?;
        let file = out.join("root.squashfs");
        write_squashfs(
            tree,
            &file,
            &SquashfsOptions {
                compression,
                timestamp,
            },
        )
        .map_err(|e| e.to_string())?;
        set_mode(&file, 0o644)
    }
}
