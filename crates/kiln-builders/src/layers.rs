//! The live root's upper layers, each a squashfs image the initrd stacks with overlayfs over
//! the configured Debian root (`debian-root`):
//!
//! - `kernel-layer`: the kernel's module tree (`aggregate-modules`: Debian's modules and
//!   `boot.extraModulePackages`) under `/usr/lib/modules`, with the indexes Debian's own
//!   `depmod` writes, run in the sandbox; and the module packages' `/etc/modprobe.d`.
//! - `system-layer`: what the profile's options generate: the accounts (`users.users`,
//!   `users.groups`) merged into those the packages made, home directories from `/etc/skel`,
//!   and every file of `system.files` (`environment.etc`, systemd units, ...).
//!
//! Layers keep a change small: editing a user rebuilds a layer of a few kilobytes, not the
//! dpkg-configured root. Their paths follow merged-/usr (`usr/lib`, never `lib`): a directory
//! in an upper layer would hide the lower layer's `/lib -> usr/lib` symlink.

use crate::error::{BuilderError, Result};
use crate::sandbox::{privilege, Privilege, Sandbox};
use crate::{link_or_copy, set_mode};
use kiln_image::squashfs::{write_squashfs, Owners, SquashfsCompression, SquashfsOptions};
use kiln_store::inputs::{self, StorePath};
use kiln_store::{BuildError, Builder, Derivation, Events};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub(crate) const KERNEL_LAYER: &str = "kernel-layer";
pub(crate) const SYSTEM_LAYER: &str = "system-layer";

/// The file every layer's output holds.
pub(crate) const LAYER_FILE: &str = "layer.squashfs";

/// `isoImage.squashfsCompression`.
#[derive(Clone, Copy, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Compression {
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

/// Writes `tree` as `out/layer.squashfs`.
pub(crate) fn write_layer(
    tree: &Path,
    out: &Path,
    compression: Compression,
    epoch: u32,
    owners: Owners,
) -> Result<()> {
    let file = out.join(LAYER_FILE);
    write_squashfs(
        tree,
        &file,
        &SquashfsOptions {
            compression: compression.into(),
            timestamp: i64::from(epoch),
            owners,
        },
    )?;
    set_mode(&file, 0o644)
}

/// What `kernel-layer` reads.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct KernelLayerInputs {
    /// An `aggregate-modules` output.
    modules_tree: StorePath,
    mod_dir_version: String,
    /// A `package-tree` with kmod (Debian's `depmod`).
    kmod: StorePath,
    compression: Compression,
    #[serde(rename = "SOURCE_DATE_EPOCH")]
    source_date_epoch: u32,
}

pub(crate) struct KernelLayer;

impl Builder for KernelLayer {
    fn check(&self, drv: &Derivation, inputs: &[PathBuf]) -> Result<(), BuildError> {
        let parsed: KernelLayerInputs = inputs::check(drv, inputs).map_err(BuildError::new)?;
        check_version(&parsed.mod_dir_version)?;
        Ok(())
    }

    fn build(
        &self,
        drv: &Derivation,
        inputs: &[PathBuf],
        out: &Path,
        _: &dyn Events,
    ) -> Result<(), BuildError> {
        let inputs: KernelLayerInputs = inputs::parse(drv, inputs).map_err(BuildError::new)?;
        Ok(build_kernel_layer(&inputs, out)?)
    }
}

fn check_version(version: &str) -> Result<()> {
    if version.is_empty() || version.contains('/') || version.starts_with('.') {
        return Err(BuilderError::invalid(format!(
            "`modDirVersion` `{version}` is not a kernel release"
        )));
    }
    Ok(())
}

fn build_kernel_layer(inputs: &KernelLayerInputs, out: &Path) -> Result<()> {
    let version = &inputs.mod_dir_version;
    check_version(version)?;
    let scratch = scratch_beside(out)?;
    let layer = scratch.path().join("layer");
    let modules = layer.join("usr/lib/modules").join(version);
    link_tree(
        &inputs.modules_tree.join(format!("lib/modules/{version}"))?,
        &modules,
    )?;
    link_tree(
        &inputs.modules_tree.join("etc/modprobe.d")?,
        &layer.join("etc/modprobe.d"),
    )?;
    // depmod -b looks under `<base>/lib/modules`; the link is gone before the layer is written.
    let lib = layer.join("lib");
    std::os::unix::fs::symlink("usr/lib", &lib).map_err(BuilderError::io("create", &lib))?;
    let log = scratch.path().join("depmod.log");
    Sandbox::new(inputs.kmod.path(), false)?
        .bind(&layer, "/tmp/layer")
        .run(
            &["/usr/sbin/depmod", "-b", "/tmp/layer", version],
            "depmod",
            &log,
        )?;
    std::fs::remove_file(&lib).map_err(BuilderError::io("remove", &lib))?;
    for dir in [&layer, &layer.join("usr"), &layer.join("usr/lib")] {
        set_mode(dir, 0o755)?;
    }
    std::fs::create_dir(out).map_err(BuilderError::io("create", out))?;
    write_layer(
        &layer,
        out,
        inputs.compression,
        inputs.source_date_epoch,
        Owners::Root,
    )
}

/// A scratch directory on the output's file system (hard links into the store work there).
pub(crate) fn scratch_beside(out: &Path) -> Result<tempfile::TempDir> {
    out.parent()
        .map_or_else(tempfile::tempdir, tempfile::tempdir_in)
        .map_err(BuilderError::io("create a scratch directory for", out))
}

/// Links every file of `src` into `dst` (hard links; symlinks copied). A missing `src` adds
/// nothing.
fn link_tree(src: &Path, dst: &Path) -> Result<()> {
    let Ok(read) = std::fs::read_dir(src) else {
        return Ok(());
    };
    std::fs::create_dir_all(dst).map_err(BuilderError::io("create", dst))?;
    set_mode(dst, 0o755)?;
    let mut items: Vec<_> = read.filter_map(std::result::Result::ok).collect();
    items.sort_by_key(std::fs::DirEntry::file_name);
    for item in items {
        let from = item.path();
        let to = dst.join(item.file_name());
        let kind = item.file_type().map_err(BuilderError::io("read", &from))?;
        if kind.is_dir() {
            link_tree(&from, &to)?;
        } else if kind.is_symlink() {
            let target = std::fs::read_link(&from).map_err(BuilderError::io("read", &from))?;
            std::os::unix::fs::symlink(&target, &to).map_err(BuilderError::io("create", &to))?;
        } else if kind.is_file() {
            link_or_copy(&from, &to)?;
        }
    }
    Ok(())
}

/// What `system-layer` reads.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SystemLayerInputs {
    /// A `debian-root` output: the accounts the packages made (`etc/passwd`, ...) and
    /// `etc/skel`.
    base: StorePath,
    /// `users.users`, as a JSON list.
    #[serde(deserialize_with = "inputs::json")]
    users: Vec<User>,
    /// `users.groups`, as a JSON list.
    #[serde(deserialize_with = "inputs::json")]
    groups: Vec<Group>,
    /// `system.files`: `{ "etc/hostname": { "text": …, "mode": "0644" } }`.
    #[serde(deserialize_with = "inputs::json")]
    files: BTreeMap<String, File>,
    compression: Compression,
    /// Every inode's time, and the day password ages count from.
    #[serde(rename = "SOURCE_DATE_EPOCH")]
    source_date_epoch: u32,
}

/// One of `users.users`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct User {
    name: String,
    /// None: the packages' id for an account they made, else the next free one.
    uid: Option<u32>,
    is_normal_user: bool,
    group: String,
    #[serde(default)]
    extra_groups: Vec<String>,
    description: String,
    home: String,
    create_home: bool,
    home_mode: String,
    shell: String,
    /// A crypt(3) hash, `""` for no password, `"!"` locked.
    hashed_password: Option<String>,
    /// Hashed here with SHA-512 crypt.
    initial_password: Option<String>,
}

/// One of `users.groups`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Group {
    name: String,
    gid: Option<u32>,
    #[serde(default)]
    members: Vec<String>,
}

/// One generated file: exactly one of `text`, `source` (a file or tree in the store) and
/// `symlink` (the link's target).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct File {
    text: Option<String>,
    source: Option<StorePath>,
    symlink: Option<String>,
    #[serde(default = "default_mode")]
    mode: String,
    #[serde(default = "root")]
    user: String,
    #[serde(default = "root")]
    group: String,
}

fn default_mode() -> String {
    "0644".to_string()
}

fn root() -> String {
    "root".to_string()
}

pub(crate) struct SystemLayer;

impl Builder for SystemLayer {
    fn check(&self, drv: &Derivation, inputs: &[PathBuf]) -> Result<(), BuildError> {
        let parsed: SystemLayerInputs = inputs::check(drv, inputs).map_err(BuildError::new)?;
        for (name, file) in &parsed.files {
            check_file(name, file)?;
        }
        for user in &parsed.users {
            parse_mode(
                &format!("users.users.{}.homeMode", user.name),
                &user.home_mode,
            )?;
        }
        Ok(())
    }

    fn build(
        &self,
        drv: &Derivation,
        inputs: &[PathBuf],
        out: &Path,
        _: &dyn Events,
    ) -> Result<(), BuildError> {
        let inputs: SystemLayerInputs = inputs::parse(drv, inputs).map_err(BuildError::new)?;
        Ok(build_system_layer(&inputs, out)?)
    }
}

fn parse_mode(what: &str, mode: &str) -> Result<u32> {
    u32::from_str_radix(mode, 8)
        .ok()
        .filter(|mode| *mode <= 0o7777)
        .ok_or_else(|| BuilderError::invalid(format!("`{what}`: bad mode `{mode}`")))
}

fn check_file(name: &str, file: &File) -> Result<u32> {
    check_relative(name)?;
    let given = [
        file.text.is_some(),
        file.source.is_some(),
        file.symlink.is_some(),
    ];
    if given.iter().filter(|g| **g).count() != 1 {
        return Err(BuilderError::invalid(format!(
            "`{name}`: give exactly one of `text`, `source` and `symlink`"
        )));
    }
    parse_mode(name, &file.mode)
}

/// A generated file's name is a relative path inside the root.
fn check_relative(name: &str) -> Result<()> {
    if name.starts_with('/')
        || name
            .split('/')
            .any(|c| c == ".." || c == "." || c.is_empty())
    {
        return Err(BuilderError::invalid(format!(
            "generated file `{name}` must be a relative path inside the root, without `.` or `..`"
        )));
    }
    Ok(())
}

fn build_system_layer(inputs: &SystemLayerInputs, out: &Path) -> Result<()> {
    if privilege()? != Privilege::Root {
        return Err(BuilderError::Sandbox {
            message: "the system layer gives home directories to their users: kiln must run as \
                      root for this step"
                .to_string(),
        });
    }
    let etc = inputs.base.join("etc")?;
    let mut db = accounts::Database::read(&etc)?;
    let day = inputs.source_date_epoch / 86_400;
    let resolved = db.apply(&inputs.groups, &inputs.users, day)?;
    let scratch = scratch_beside(out)?;
    let layer = scratch.path().join("layer");
    make_dir(&layer, 0o755, (0, 0))?;
    make_dir(&layer.join("etc"), 0o755, (0, 0))?;
    let shadow_gid = db.gid("shadow").unwrap_or(0);
    for (name, text, mode, gid) in [
        ("passwd", db.passwd(), 0o644, 0),
        ("group", db.group(), 0o644, 0),
        ("shadow", db.shadow(), 0o640, shadow_gid),
        ("gshadow", db.gshadow(), 0o640, shadow_gid),
    ] {
        write_owned(
            &layer.join("etc").join(name),
            text.as_bytes(),
            mode,
            (0, gid),
        )?;
    }
    for home in &resolved.homes {
        make_home(&layer, &etc.join("skel"), home)?;
    }
    for (name, file) in &inputs.files {
        let mode = check_file(name, file)?;
        let owner = (
            db.uid(&file.user).ok_or_else(|| {
                BuilderError::invalid(format!("`{name}`: no user `{}`", file.user))
            })?,
            db.gid(&file.group).ok_or_else(|| {
                BuilderError::invalid(format!("`{name}`: no group `{}`", file.group))
            })?,
        );
        let path = layer.join(name);
        make_parents(&layer, name)?;
        if let Some(text) = &file.text {
            write_owned(&path, text.as_bytes(), mode, owner)?;
        } else if let Some(target) = &file.symlink {
            remove_existing(&path)?;
            std::os::unix::fs::symlink(target, &path).map_err(BuilderError::io("create", &path))?;
        } else if let Some(source) = &file.source {
            copy_owned(source.path(), &path, Some(mode), owner)?;
        }
    }
    std::fs::create_dir(out).map_err(BuilderError::io("create", out))?;
    write_layer(
        &layer,
        out,
        inputs.compression,
        inputs.source_date_epoch,
        Owners::FromTree,
    )
}

/// A directory with its mode and owner (made if missing).
fn make_dir(path: &Path, mode: u32, (uid, gid): (u32, u32)) -> Result<()> {
    if std::fs::symlink_metadata(path).is_err() {
        std::fs::create_dir(path).map_err(BuilderError::io("create", path))?;
    }
    set_mode(path, mode)?;
    std::os::unix::fs::lchown(path, Some(uid), Some(gid))
        .map_err(BuilderError::io("set the owner of", path))
}

/// `name`'s parent directories inside `root`, root's and 0755 where they are new.
fn make_parents(root: &Path, name: &str) -> Result<()> {
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
                    "cannot write `{name}`: `{}` is another generated file",
                    dir.strip_prefix(root).unwrap_or(&dir).display()
                )))
            }
            Err(_) => make_dir(&dir, 0o755, (0, 0))?,
        }
    }
    Ok(())
}

fn remove_existing(path: &Path) -> Result<()> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.is_dir() => {
            std::fs::remove_dir_all(path).map_err(BuilderError::io("replace", path))
        }
        Ok(_) => std::fs::remove_file(path).map_err(BuilderError::io("replace", path)),
        Err(_) => Ok(()),
    }
}

fn write_owned(path: &Path, bytes: &[u8], mode: u32, (uid, gid): (u32, u32)) -> Result<()> {
    remove_existing(path)?;
    std::fs::write(path, bytes).map_err(BuilderError::io("write", path))?;
    set_mode(path, mode)?;
    std::os::unix::fs::lchown(path, Some(uid), Some(gid))
        .map_err(BuilderError::io("set the owner of", path))
}

/// Copies a file or tree from the store, every entry given to `owner`; `mode` (if any) for a
/// file. Otherwise modes are what a package would have shipped: the store keeps only whether a
/// file is executable (its entries are read-only), so files become 0755 or 0644, directories
/// 0755.
fn copy_owned(from: &Path, to: &Path, mode: Option<u32>, owner: (u32, u32)) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::symlink_metadata(from).map_err(BuilderError::io("read", from))?;
    let executable = meta.permissions().mode() & 0o111 != 0;
    if meta.is_dir() {
        make_dir(to, 0o755, owner)?;
        let mut items: Vec<_> = std::fs::read_dir(from)
            .map_err(BuilderError::io("list", from))?
            .filter_map(std::result::Result::ok)
            .collect();
        items.sort_by_key(std::fs::DirEntry::file_name);
        for item in items {
            copy_owned(&item.path(), &to.join(item.file_name()), None, owner)?;
        }
        Ok(())
    } else if meta.file_type().is_symlink() {
        let target = std::fs::read_link(from).map_err(BuilderError::io("read", from))?;
        remove_existing(to)?;
        std::os::unix::fs::symlink(target, to).map_err(BuilderError::io("create", to))?;
        std::os::unix::fs::lchown(to, Some(owner.0), Some(owner.1))
            .map_err(BuilderError::io("set the owner of", to))
    } else {
        let bytes = std::fs::read(from).map_err(BuilderError::io("read", from))?;
        let usual = if executable { 0o755 } else { 0o644 };
        write_owned(to, &bytes, mode.unwrap_or(usual), owner)
    }
}

/// A new home: `/etc/skel`'s files, everything the user's.
fn make_home(layer: &Path, skel: &Path, home: &accounts::Home) -> Result<()> {
    let rel = home.path.trim_start_matches('/');
    check_relative(rel).map_err(|_| {
        BuilderError::invalid(format!(
            "users.users.{}.home `{}` must be an absolute path without `.` or `..`",
            home.user, home.path
        ))
    })?;
    make_parents(layer, rel)?;
    let path = layer.join(rel);
    if skel.is_dir() {
        copy_owned(skel, &path, None, home.owner)?;
    }
    make_dir(&path, home.mode, home.owner)
}

/// `/etc/passwd`, `group`, `shadow` and `gshadow`: the packages' accounts with the profile's.
mod accounts {
    use super::{Group, User};
    use crate::error::{BuilderError, Result};
    use std::collections::BTreeSet;
    use std::path::Path;

    /// Ids kiln picks for accounts that give none: system accounts count down from 999 (as
    /// systemd-sysusers does), people up from 1000 (as adduser does).
    const SYSTEM_MAX: u32 = 999;
    const SYSTEM_MIN: u32 = 100;
    const NORMAL_MIN: u32 = 1000;
    const NORMAL_MAX: u32 = 59_999;

    /// A table as lines of `:`-separated fields, in file order.
    #[derive(Default)]
    struct Table(Vec<Vec<String>>);

    impl Table {
        fn read(path: &Path) -> Result<Table> {
            let text = std::fs::read_to_string(path).unwrap_or_default();
            Ok(Table(
                text.lines()
                    .filter(|l| !l.trim().is_empty())
                    .map(|l| l.split(':').map(str::to_string).collect())
                    .collect(),
            ))
        }

        fn find(&mut self, name: &str) -> Option<&mut Vec<String>> {
            self.0
                .iter_mut()
                .find(|f| f.first().map(String::as_str) == Some(name))
        }

        fn get(&self, name: &str) -> Option<&Vec<String>> {
            self.0
                .iter()
                .find(|f| f.first().map(String::as_str) == Some(name))
        }

        fn text(&self) -> String {
            self.0.iter().map(|f| f.join(":") + "\n").collect()
        }

        fn ids(&self) -> BTreeSet<u32> {
            self.0
                .iter()
                .filter_map(|f| f.get(2)?.parse().ok())
                .collect()
        }
    }

    pub(super) struct Database {
        passwd: Table,
        group: Table,
        shadow: Table,
        gshadow: Table,
    }

    /// A home directory to make.
    #[derive(Debug)]
    pub(super) struct Home {
        pub(super) user: String,
        pub(super) path: String,
        pub(super) mode: u32,
        pub(super) owner: (u32, u32),
    }

    #[derive(Debug)]
    pub(super) struct Applied {
        pub(super) homes: Vec<Home>,
    }

    fn fields(n: usize, values: &[&str]) -> Vec<String> {
        let mut v: Vec<String> = values.iter().map(|s| s.to_string()).collect();
        v.resize(n, String::new());
        v
    }

    fn free_id(used: &BTreeSet<u32>, normal: bool) -> Option<u32> {
        if normal {
            (NORMAL_MIN..=NORMAL_MAX).find(|id| !used.contains(id))
        } else {
            (SYSTEM_MIN..=SYSTEM_MAX)
                .rev()
                .find(|id| !used.contains(id))
        }
    }

    impl Database {
        pub(super) fn read(etc: &Path) -> Result<Database> {
            Ok(Database {
                passwd: Table::read(&etc.join("passwd"))?,
                group: Table::read(&etc.join("group"))?,
                shadow: Table::read(&etc.join("shadow"))?,
                gshadow: Table::read(&etc.join("gshadow"))?,
            })
        }

        pub(super) fn uid(&self, name: &str) -> Option<u32> {
            self.passwd.get(name)?.get(2)?.parse().ok()
        }

        pub(super) fn gid(&self, name: &str) -> Option<u32> {
            self.group.get(name)?.get(2)?.parse().ok()
        }

        pub(super) fn passwd(&self) -> String {
            self.passwd.text()
        }
        pub(super) fn group(&self) -> String {
            self.group.text()
        }
        pub(super) fn shadow(&self) -> String {
            self.shadow.text()
        }
        pub(super) fn gshadow(&self) -> String {
            self.gshadow.text()
        }

        /// Adds or updates the groups, then the users (sorted by name, so ids do not depend
        /// on the order the profile declares them in).
        pub(super) fn apply(
            &mut self,
            groups: &[Group],
            users: &[User],
            day: u32,
        ) -> Result<Applied> {
            let mut groups: Vec<&Group> = groups.iter().collect();
            groups.sort_by(|a, b| a.name.cmp(&b.name));
            // Groups with a fixed id first, so an automatic one cannot take it.
            groups.sort_by_key(|g| g.gid.is_none());
            for group in groups {
                self.add_group(group)?;
            }
            let mut users: Vec<&User> = users.iter().collect();
            users.sort_by(|a, b| a.name.cmp(&b.name));
            users.sort_by_key(|u| u.uid.is_none());
            let mut homes = Vec::new();
            for user in users {
                if let Some(home) = self.add_user(user, day)? {
                    homes.push(home);
                }
            }
            Ok(Applied { homes })
        }

        fn add_group(&mut self, group: &Group) -> Result<()> {
            check_name("users.groups", &group.name)?;
            let taken = |db: &Database, gid: u32| {
                db.group
                    .0
                    .iter()
                    .find(|f| f.get(2).and_then(|g| g.parse().ok()) == Some(gid))
                    .map(|f| f[0].clone())
            };
            match (self.gid(&group.name), group.gid) {
                (Some(have), Some(want)) if have != want => {
                    return Err(BuilderError::invalid(format!(
                        "users.groups.{}.gid = {want}, but Debian's packages made the group \
                         with gid {have}: leave `gid` unset",
                        group.name
                    )))
                }
                (Some(_), _) => {}
                (None, gid) => {
                    let gid = match gid {
                        Some(gid) => {
                            if let Some(other) = taken(self, gid) {
                                return Err(BuilderError::invalid(format!(
                                    "users.groups.{}.gid = {gid} is the group `{other}`'s",
                                    group.name
                                )));
                            }
                            gid
                        }
                        None => free_id(&self.group.ids(), false).ok_or_else(|| {
                            BuilderError::invalid("no free system group id left (100-999)")
                        })?,
                    };
                    self.group
                        .0
                        .push(fields(4, &[&group.name, "x", &gid.to_string(), ""]));
                    self.gshadow.0.push(fields(4, &[&group.name, "!", "", ""]));
                }
            }
            for member in &group.members {
                self.add_member(&group.name, member);
            }
            Ok(())
        }

        fn add_member(&mut self, group: &str, user: &str) {
            for (table, index) in [(&mut self.group, 3), (&mut self.gshadow, 3)] {
                if let Some(f) = table.find(group) {
                    f.resize(4, String::new());
                    let mut members: Vec<&str> =
                        f[index].split(',').filter(|m| !m.is_empty()).collect();
                    if !members.contains(&user) {
                        members.push(user);
                    }
                    f[index] = members.join(",");
                }
            }
        }

        fn add_user(&mut self, user: &User, day: u32) -> Result<Option<Home>> {
            check_name("users.users", &user.name)?;
            let unknown = |group: &str, what: &str| BuilderError::UnknownGroup {
                user: user.name.clone(),
                group: group.to_string(),
                what: what.to_string(),
            };
            let gid = self
                .gid(&user.group)
                .ok_or_else(|| unknown(&user.group, "group"))?;
            for extra in &user.extra_groups {
                if self.gid(extra).is_none() {
                    return Err(unknown(extra, "extraGroups"));
                }
            }
            let uid = match (self.uid(&user.name), user.uid) {
                (Some(have), Some(want)) if have != want => {
                    return Err(BuilderError::invalid(format!(
                        "users.users.{}.uid = {want}, but Debian's packages made the user with \
                         uid {have}: leave `uid` unset",
                        user.name
                    )))
                }
                (Some(have), _) => have,
                (None, Some(want)) => {
                    if let Some(other) = self
                        .passwd
                        .0
                        .iter()
                        .find(|f| f.get(2).and_then(|u| u.parse().ok()) == Some(want))
                    {
                        return Err(BuilderError::invalid(format!(
                            "users.users.{}.uid = {want} is the user `{}`'s",
                            user.name, other[0]
                        )));
                    }
                    want
                }
                (None, None) => {
                    free_id(&self.passwd.ids(), user.is_normal_user).ok_or_else(|| {
                        BuilderError::invalid(format!("no free uid left for `{}`", user.name))
                    })?
                }
            };
            let line = fields(
                7,
                &[
                    &user.name,
                    "x",
                    &uid.to_string(),
                    &gid.to_string(),
                    &user.description,
                    &user.home,
                    &user.shell,
                ],
            );
            match self.passwd.find(&user.name) {
                Some(existing) => *existing = line,
                None => self.passwd.0.push(line),
            }
            let hash = match (&user.hashed_password, &user.initial_password) {
                (Some(hash), _) => Some(hash.clone()),
                (None, Some(password)) => Some(super::hash_password(&user.name, password)?),
                (None, None) => None,
            };
            let day = day.to_string();
            match self.shadow.find(&user.name) {
                Some(existing) => {
                    if let Some(hash) = hash {
                        existing.resize(9, String::new());
                        existing[1] = hash;
                        existing[2] = day;
                    }
                }
                None => {
                    let hash = hash.unwrap_or_else(|| "!".to_string());
                    self.shadow
                        .0
                        .push(fields(9, &[&user.name, &hash, &day, "0", "99999", "7"]));
                }
            }
            for extra in &user.extra_groups {
                self.add_member(extra, &user.name);
            }
            if !user.create_home {
                return Ok(None);
            }
            Ok(Some(Home {
                user: user.name.clone(),
                path: user.home.clone(),
                mode: super::parse_mode(
                    &format!("users.users.{}.homeMode", user.name),
                    &user.home_mode,
                )?,
                owner: (uid, gid),
            }))
        }
    }

    /// What `useradd` accepts (Debian's default `NAME_REGEX`, relaxed for system names).
    fn check_name(option: &str, name: &str) -> Result<()> {
        let ok = !name.is_empty()
            && name.len() <= 32
            && !name.starts_with('-')
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
            && !name.ends_with('.');
        if ok {
            Ok(())
        } else {
            Err(BuilderError::invalid(format!(
                "{option}: `{name}` is not a valid account name (letters, digits, `_`, `-`, `.`; at most 32)"
            )))
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        fn user(name: &str, group: &str, extra: &[&str]) -> User {
            User {
                name: name.into(),
                uid: None,
                is_normal_user: true,
                group: group.into(),
                extra_groups: extra.iter().map(|s| s.to_string()).collect(),
                description: String::new(),
                home: format!("/home/{name}"),
                create_home: true,
                home_mode: "700".into(),
                shell: "/bin/bash".into(),
                hashed_password: Some(String::new()),
                initial_password: None,
            }
        }

        fn base() -> Database {
            let t = |s: &str| {
                Table(
                    s.lines()
                        .map(|l| l.split(':').map(str::to_string).collect())
                        .collect(),
                )
            };
            Database {
                passwd: t("root:x:0:0:root:/root:/bin/bash\nmessagebus:x:100:106::/nonexistent:/usr/sbin/nologin"),
                group: t("root:x:0:\nusers:x:100:\nshadow:x:42:\nsudo:x:27:"),
                shadow: t("root:*:19000:0:99999:7:::"),
                gshadow: t("root:*::\nusers:*::\nshadow:*::\nsudo:*::"),
            }
        }

        #[test]
        fn users_get_ids_groups_and_members() {
            let mut db = base();
            let groups = [Group {
                name: "wheel".into(),
                gid: None,
                members: vec![],
            }];
            let users = [user("kiln", "users", &["wheel", "sudo"])];
            let applied = db.apply(&groups, &users, 3652).unwrap();
            assert!(db
                .passwd()
                .contains("kiln:x:1000:100::/home/kiln:/bin/bash\n"));
            assert!(db.group().contains("wheel:x:999:kiln\n"), "{}", db.group());
            assert!(db.group().contains("sudo:x:27:kiln\n"));
            assert!(db.shadow().contains("kiln::3652:0:99999:7:::\n"));
            assert!(db.gshadow().contains("wheel:!::kiln\n"));
            assert_eq!(applied.homes[0].owner, (1000, 100));
        }

        #[test]
        fn an_unknown_group_names_the_user_and_the_group() {
            let mut db = base();
            let err = db
                .apply(&[], &[user("ann", "users", &["wheel"])], 1)
                .unwrap_err();
            let text = err.to_string();
            assert!(
                text.contains("users.users.ann.extraGroups") && text.contains("`wheel`"),
                "{text}"
            );
        }

        #[test]
        fn an_existing_account_keeps_its_id_and_hash_unless_given() {
            let mut db = base();
            let mut root = user("root", "root", &[]);
            root.is_normal_user = false;
            root.home = "/root".into();
            root.create_home = false;
            root.hashed_password = None;
            db.apply(&[], &[root], 1).unwrap();
            assert!(db.passwd().starts_with("root:x:0:0::/root:/bin/bash\n"));
            assert!(db.shadow().starts_with("root:*:19000:"));
        }
    }
}

/// SHA-512 crypt (`$6$`), which Debian's PAM reads. The salt is derived from the user's name and
/// the password, so the same profile gives the same image; the password is in the profile (and
/// the store key) anyway, so a random salt would hide nothing from who can read it.
fn hash_password(user: &str, password: &str) -> Result<String> {
    const SALT_CHARS: &[u8] = b"./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let digest = blake3::hash(format!("kiln-password-salt\0{user}\0{password}").as_bytes());
    let salt: String = digest.as_bytes()[..16]
        .iter()
        .map(|b| char::from(SALT_CHARS[usize::from(*b) % SALT_CHARS.len()]))
        .collect();
    let params = sha_crypt::Sha512Params::new(sha_crypt::ROUNDS_DEFAULT)
        .map_err(|e| BuilderError::invalid(format!("SHA-512 crypt parameters: {e:?}")))?;
    let hash = sha_crypt::sha512_crypt_b64(password.as_bytes(), salt.as_bytes(), &params).map_err(
        |e| BuilderError::invalid(format!("cannot hash the password of `{user}`: {e:?}")),
    )?;
    Ok(format!("$6${salt}${hash}"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn sha512_crypt_matches_drepper_s_vector() {
        let params = sha_crypt::Sha512Params::new(sha_crypt::ROUNDS_DEFAULT).unwrap();
        let hash = sha_crypt::sha512_crypt_b64(b"Hello world!", b"saltstring", &params).unwrap();
        assert_eq!(
            hash,
            "svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1"
        );
        let ours = super::hash_password("kiln", "secret").unwrap();
        assert!(ours.starts_with("$6$") && ours.len() > 100, "{ours}");
        assert_eq!(ours, super::hash_password("kiln", "secret").unwrap());
    }
}
