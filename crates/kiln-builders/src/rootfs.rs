//! The live root: `rootfs` merges unpacked Debian packages, the kernel's modules and the firmware
//! into one tree; `squashfs` packs a tree into a squashfs image.
//!
//! The tree is made of hard links into the store (the store and its scratch space share a file
//! system), so merging a gigabyte of packages moves no data. Generated files replace links
//! (never write through one: that would change the store entry it shares an inode with).
//! Maintainer scripts are not run; what a live system needs from them is done here (busybox
//! applets where no package provides the command) or by an earlier step (`modules.dep` and
//! friends for `modprobe` come with the `aggregate-modules` tree).

use crate::error::{BuilderError, Result};
use crate::{link_or_copy, set_mode};
use kiln_image::squashfs::{write_squashfs, SquashfsCompression, SquashfsOptions};
use kiln_store::inputs::{self, StorePath};
use kiln_store::{BuildError, Builder, Derivation, Events};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub(crate) const ROOTFS: &str = "rootfs";
pub(crate) const SQUASHFS: &str = "squashfs";

/// What `rootfs` reads. Output: the root directory tree.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RootfsInputs {
    /// Unpacked packages, merged in order; the first to ship a path wins.
    #[serde(default)]
    packages: Vec<StorePath>,
    /// An `aggregate-modules` output: the kernel's modules with `modules.dep` and the other
    /// files `modprobe` reads.
    modules_tree: Option<StorePath>,
    /// Packages whose `lib/firmware` is merged into `/lib/firmware`.
    #[serde(default)]
    firmware: Vec<StorePath>,
    /// Generated files: `{ "etc/hostname": { "text": …, "mode": "0644" } }`.
    #[serde(default, deserialize_with = "inputs::json")]
    files: BTreeMap<String, GeneratedFile>,
}

#[derive(Deserialize)]
struct GeneratedFile {
    text: String,
    #[serde(default = "default_mode")]
    mode: String,
}

fn default_mode() -> String {
    "0644".to_string()
}

pub(crate) struct Rootfs;

impl Builder for Rootfs {
    fn check(&self, drv: &Derivation, inputs: &[PathBuf]) -> Result<(), BuildError> {
        let parsed: RootfsInputs = inputs::check(drv, inputs).map_err(BuildError::new)?;
        for (name, file) in &parsed.files {
            generated_mode(name, file)?;
            check_relative(name)?;
        }
        Ok(())
    }

    fn build(
        &self,
        drv: &Derivation,
        inputs: &[PathBuf],
        out: &Path,
        events: &dyn Events,
    ) -> Result<(), BuildError> {
        let inputs: RootfsInputs = inputs::parse(drv, inputs).map_err(BuildError::new)?;
        Ok(build_rootfs(drv, &inputs, out, events)?)
    }
}

fn generated_mode(name: &str, file: &GeneratedFile) -> Result<u32> {
    u32::from_str_radix(&file.mode, 8)
        .ok()
        .filter(|mode| *mode <= 0o7777)
        .ok_or_else(|| BuilderError::invalid(format!("`files.{name}`: bad mode `{}`", file.mode)))
}

fn build_rootfs(
    drv: &Derivation,
    inputs: &RootfsInputs,
    out: &Path,
    events: &dyn Events,
) -> Result<()> {
    std::fs::create_dir(out).map_err(BuilderError::io("create", out))?;
    let mut conflicts = 0usize;
    for package in &inputs.packages {
        conflicts += link_tree(package.path(), out)?;
    }
    if conflicts > 0 {
        events.message(
            drv,
            &format!(
                "{conflicts} path(s) shipped by more than one package; the first package's kept"
            ),
        );
    }
    if let Some(tree) = &inputs.modules_tree {
        link_tree(&tree.join("lib/modules")?, &out.join("lib/modules"))?;
        link_tree(&tree.join("etc/modprobe.d")?, &out.join("etc/modprobe.d"))?;
    }
    for package in &inputs.firmware {
        link_tree(&package.join("lib/firmware")?, &out.join("lib/firmware"))?;
    }
    install_busybox_applets(out)?;
    for (name, file) in &inputs.files {
        let mode = generated_mode(name, file)?;
        write_generated(out, name, file.text.as_bytes(), mode)?;
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
            std::fs::create_dir_all(&path).map_err(BuilderError::io("create", &path))?;
            set_mode(&path, mode)?;
        }
    }
    Ok(())
}

/// Links every file of `src` into `dst` (hard links; symlinks copied); returns how many paths
/// `dst` had already. Symlinks in `dst` are never followed: one could point out of the root
/// (an absolute `/lib64 -> /usr/lib64` resolves on the build host), so a directory meeting a
/// symlink counts as a conflict. A missing `src` adds nothing.
fn link_tree(src: &Path, dst: &Path) -> Result<usize> {
    let Ok(read) = std::fs::read_dir(src) else {
        return Ok(0);
    };
    if std::fs::symlink_metadata(dst).is_err() {
        std::fs::create_dir_all(dst).map_err(BuilderError::io("create", dst))?;
        set_mode(dst, 0o755)?;
    }
    let mut items: Vec<_> = read.filter_map(std::result::Result::ok).collect();
    items.sort_by_key(std::fs::DirEntry::file_name);
    let mut conflicts = 0;
    for item in items {
        let from = item.path();
        let to = dst.join(item.file_name());
        let kind = item.file_type().map_err(BuilderError::io("read", &from))?;
        if kind.is_dir() {
            match std::fs::symlink_metadata(&to) {
                Ok(meta) if !meta.is_dir() => conflicts += 1,
                _ => conflicts += link_tree(&from, &to)?,
            }
        } else if std::fs::symlink_metadata(&to).is_ok() {
            conflicts += 1;
        } else if kind.is_symlink() {
            let target = std::fs::read_link(&from).map_err(BuilderError::io("read", &from))?;
            std::os::unix::fs::symlink(&target, &to).map_err(BuilderError::io("create", &to))?;
        } else if kind.is_file() {
            link_or_copy(&from, &to)?;
        }
    }
    Ok(conflicts)
}

/// Where each busybox applet belongs (`bin/ls`, `sbin/ip`, ...), as busybox itself says.
pub(crate) fn busybox_applets(busybox: &Path) -> Result<Vec<String>> {
    let output = std::process::Command::new(busybox)
        .arg("--list-full")
        .env_clear()
        .output()
        .map_err(|e| BuilderError::Program {
            message: format!("cannot run {} --list-full: {e}", busybox.display()),
        })?;
    if !output.status.success() {
        return Err(BuilderError::Program {
            message: format!("{} --list-full failed", busybox.display()),
        });
    }
    Ok(String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|applet| applet.trim().trim_start_matches('/').to_string())
        .filter(|applet| !applet.is_empty())
        .collect())
}

/// A symlink to busybox for each applet whose path no package provides.
fn install_busybox_applets(root: &Path) -> Result<()> {
    let busybox = root.join("bin/busybox");
    if !busybox.is_file() {
        return Ok(());
    }
    for applet in busybox_applets(&busybox)? {
        let name = Path::new(&applet).file_name().unwrap_or_default();
        let taken = ["bin", "sbin", "usr/bin", "usr/sbin"]
            .iter()
            .any(|dir| std::fs::symlink_metadata(root.join(dir).join(name)).is_ok());
        if taken {
            continue;
        }
        let path = root.join(&applet);
        match path.parent().map(std::fs::symlink_metadata) {
            Some(Ok(meta)) if meta.is_dir() => {}
            // Applets go where a merged tree has a real directory (bin, sbin, usr/bin, usr/sbin).
            _ => continue,
        }
        std::os::unix::fs::symlink("/bin/busybox", &path)
            .map_err(BuilderError::io("create", &path))?;
    }
    Ok(())
}

/// A generated file's name is a relative path inside the root.
fn check_relative(name: &str) -> Result<()> {
    if name.starts_with('/')
        || name
            .split('/')
            .any(|c| c == ".." || c == "." || c.is_empty())
    {
        return Err(BuilderError::invalid(format!(
            "generated file `{name}` must be a relative path inside the root"
        )));
    }
    Ok(())
}

/// Writes a generated file, replacing (not writing through) whatever link was there.
fn write_generated(root: &Path, name: &str, bytes: &[u8], mode: u32) -> Result<()> {
    check_relative(name)?;
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
                return Err(BuilderError::invalid(format!(
                    "cannot write `{name}`: `{}` is not a directory",
                    dir.display()
                )))
            }
            Err(_) => std::fs::create_dir(&dir).map_err(BuilderError::io("create", &dir))?,
        }
    }
    if std::fs::symlink_metadata(&path).is_ok() {
        std::fs::remove_file(&path).map_err(BuilderError::io("replace", &path))?;
    }
    std::fs::write(&path, bytes).map_err(BuilderError::io("write", &path))?;
    set_mode(&path, mode)
}

/// What `squashfs` reads. Output: `$out/root.squashfs`.
#[derive(Deserialize)]
struct SquashfsInputs {
    /// The tree to pack (a `rootfs` output).
    tree: StorePath,
    compression: Compression,
    /// Every inode's and the superblock's time.
    #[serde(rename = "SOURCE_DATE_EPOCH")]
    source_date_epoch: u32,
}

/// `isoImage.squashfsCompression`.
#[derive(Clone, Copy, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Compression {
    Zstd,
    Xz,
    Gzip,
}

impl From<Compression> for SquashfsCompression {
    fn from(compression: Compression) -> SquashfsCompression {
        match compression {
            Compression::Zstd => SquashfsCompression::Zstd,
            Compression::Xz => SquashfsCompression::Xz,
            Compression::Gzip => SquashfsCompression::Gzip,
        }
    }
}

pub(crate) struct Squashfs;

impl Builder for Squashfs {
    fn check(&self, drv: &Derivation, inputs: &[PathBuf]) -> Result<(), BuildError> {
        inputs::check::<SquashfsInputs>(drv, inputs).map_err(BuildError::new)?;
        Ok(())
    }

    fn build(
        &self,
        drv: &Derivation,
        inputs: &[PathBuf],
        out: &Path,
        _: &dyn Events,
    ) -> Result<(), BuildError> {
        let inputs: SquashfsInputs = inputs::parse(drv, inputs).map_err(BuildError::new)?;
        std::fs::create_dir(out).map_err(BuilderError::io("create", out))?;
        let file = out.join("root.squashfs");
        write_squashfs(
            inputs.tree.path(),
            &file,
            &SquashfsOptions {
                compression: inputs.compression.into(),
                timestamp: i64::from(inputs.source_date_epoch),
            },
        )
        .map_err(BuilderError::from)?;
        Ok(set_mode(&file, 0o644)?)
    }
}
