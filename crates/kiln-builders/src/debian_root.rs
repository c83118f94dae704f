//! `debian-root`: a Debian root file system that dpkg has configured, as `mmdebstrap` makes
//! one, from the unpacked packages in the store.
//!
//! The steps, in a scratch directory beside the output:
//!
//! 1. The packages are copied into one tree ([`tree::merge_packages`], merged-/usr), every
//!    file with the mode and owner its package's manifest gives. kiln's parallel unpacking
//!    already happened in the store, once per package: this is the step mmdebstrap spends most
//!    of its time in (`dpkg --unpack` of each `.deb`, one after another).
//! 2. dpkg's database is written as `dpkg --unpack` leaves it: `status` with every package
//!    `install ok unpacked` (conffiles as `newconffile`, each at `<path>.dpkg-new`), the
//!    maintainer scripts, `.list`, `.md5sums` and the other control files under `info/`, and
//!    the trigger interests under `triggers/`.
//!    The profile's `system.debianRootFiles` are written into the tree now, so that the
//!    packages' scripts and triggers see them (a GSettings override that glib's trigger
//!    compiles into the schema cache).
//!    Then every path's time is set to `SOURCE_DATE_EPOCH`, the time the image gives them:
//!    what the scripts record about a file's time must not be the time of the copy. Python
//!    writes the source's mtime into each `.pyc` it caches while a script imports a module
//!    (`py3compile` imports `debpython`), and that cache is then valid in the live system too.
//! 3. In the sandbox, with the root's own programs: each package's `preinst install`, in
//!    dependency order; `dpkg --configure -a`, which runs the `postinst`s in dependency order
//!    with debconf non-interactive; then every trigger a package declared interest in is
//!    activated and run (`ldconfig`, GLib schemas, icon and font caches, ...), as installing
//!    the whole set at once would. `policy-rc.d` keeps services from starting, and
//!    `start-stop-daemon` is replaced for the duration, as mmdebstrap does. A maintainer script
//!    that fails fails the build, naming the package and showing dpkg's output.
//! 4. What makes the result depend on when it was built is removed, as mmdebstrap and
//!    reproducible-builds.org do: logs, `*-old` databases, the ldconfig cache, machine ids
//!    (`/etc/machine-id` stays, empty, so systemd makes one at first boot), SSH host keys.
//!    Every file's time is the derivation's `SOURCE_DATE_EPOCH` in the image.
//! 5. The tree is written as `layer.squashfs`, owners and modes as dpkg left them.
//!
//! Output: `layer.squashfs`; `etc/` with the `passwd`, `group`, `shadow` and `gshadow` the
//! packages made (the profile's users are added to these by a later layer, so their ids do
//! not collide with the system users'), and `etc/skel`; `packages`, one `NAME VERSION` line
//! per installed package, from dpkg's status.
//!
//! Privilege: dpkg and the scripts `chown` files to system users (`root:shadow`). As root the
//! sandbox shares root's user namespace, the merge sets the manifests' owners on the inodes,
//! and the image takes owners from the tree. Without root, step 3 runs in the sandbox's user
//! namespace under Debian's fakeroot (the `fakeroot` input; see `fakeroot.rs`): faked starts
//! with the owners the merge could not set, dpkg and the scripts see and change owners
//! through it, and the image takes each inode's owner and mode from what faked saved. Both
//! ways give the same image (`crates/kiln-cli/tests/rootless.rs` compares them), as a store
//! key that does not say who built it requires. Where neither root nor user namespaces work,
//! the sandbox's diagnostic says so.

use crate::error::{BuilderError, Result};
use crate::fakeroot;
use crate::layers::{scratch_beside, write_layer};
use crate::sandbox::{privilege, Privilege, Sandbox};
use crate::tree::{merge_packages, How};
use kiln_image::squashfs::Owners;
use kiln_store::inputs::{self, StorePath};
use kiln_store::{BuildError, Builder, Derivation, Events};
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

pub(crate) const DEBIAN_ROOT: &str = "debian-root";

/// What `debian-root` reads.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DebianRootInputs {
    /// The unpacked packages: the closure of what the system installs, each once.
    packages: Vec<StorePath>,
    /// Debian's fakeroot: a `package-tree` of `closureOf [ fakeroot ]`, bound read-only into
    /// the sandbox when kiln is not root (see the module comment); unused as root, and never
    /// part of the image.
    fakeroot: StorePath,
    /// Answers to debconf questions (`debconf-set-selections` lines), given once everything is
    /// configured; the packages they name are reconfigured with them.
    #[serde(default)]
    debconf_selections: String,
    /// Text files to write into the root before it is configured: `{ "usr/share/x": "text" }`,
    /// paths relative to `/`.
    #[serde(default, deserialize_with = "inputs::json")]
    files: BTreeMap<String, String>,
    /// The squashfs compression (`isoImage.squashfsCompression`).
    compression: crate::layers::Compression,
    /// The time scripts see as "now" (`SOURCE_DATE_EPOCH`, which shadow's tools and Python's
    /// bytecode honour) and every inode's time in the image.
    #[serde(rename = "SOURCE_DATE_EPOCH")]
    source_date_epoch: u32,
}

pub(crate) struct DebianRoot;

impl Builder for DebianRoot {
    fn check(&self, drv: &Derivation, inputs: &[PathBuf]) -> Result<(), BuildError> {
        let parsed: DebianRootInputs = inputs::check(drv, inputs).map_err(BuildError::new)?;
        check_selections(&parsed.debconf_selections)?;
        check_files(&parsed.files)?;
        Ok(())
    }

    fn build(
        &self,
        drv: &Derivation,
        inputs: &[PathBuf],
        out: &Path,
        events: &dyn Events,
    ) -> Result<(), BuildError> {
        let inputs: DebianRootInputs = inputs::parse(drv, inputs).map_err(BuildError::new)?;
        check_selections(&inputs.debconf_selections)?;
        check_files(&inputs.files)?;
        Ok(build(drv, &inputs, out, events)?)
    }
}

/// Each selection line is `PACKAGE QUESTION TYPE [VALUE]`, with a Debian package name.
fn check_selections(selections: &str) -> Result<()> {
    for line in selections.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut words = line.split_whitespace();
        let package = words.next().unwrap_or_default();
        let valid = package.len() >= 2
            && package
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "+-.".contains(c));
        if !valid || words.count() < 2 || line.contains("KILN_SELECTIONS") {
            return Err(BuilderError::invalid(format!(
                "system.debconfSelections: `{line}` is not `PACKAGE QUESTION TYPE VALUE`"
            )));
        }
    }
    Ok(())
}

/// Each file's path is relative, of plain components (no `.`, `..` or empty one).
fn check_files(files: &BTreeMap<String, String>) -> Result<()> {
    for name in files.keys() {
        let plain = !name.is_empty()
            && name
                .split('/')
                .all(|part| !part.is_empty() && part != "." && part != "..");
        if !plain {
            return Err(BuilderError::invalid(format!(
                "system.debianRootFiles: `{name}` must be a relative path of plain names"
            )));
        }
    }
    Ok(())
}

/// Writes the profile's files into the root (owner root, mode 0644, parents 0755), replacing a
/// package's file of the same path.
fn write_files(root: &Path, files: &BTreeMap<String, String>) -> Result<()> {
    for (name, text) in files {
        let path = root.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(BuilderError::io("create", parent))?;
        }
        if std::fs::symlink_metadata(&path).is_ok_and(|m| !m.is_file()) {
            return Err(BuilderError::invalid(format!(
                "system.debianRootFiles: `{name}` is a directory or symlink in the packages"
            )));
        }
        std::fs::write(&path, text).map_err(BuilderError::io("write", &path))?;
        crate::set_mode(&path, 0o644)?;
    }
    Ok(())
}

/// Sets the access and modification times of `root` and everything under it to `epoch`
/// (symlinks themselves, not their targets).
fn set_times(root: &Path, epoch: u32) -> Result<()> {
    use rustix::fs::{utimensat, AtFlags, Timespec, Timestamps, CWD};
    let time = Timespec {
        tv_sec: i64::from(epoch),
        tv_nsec: 0,
    };
    let times = Timestamps {
        last_access: time,
        last_modification: time,
    };
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).map_err(BuilderError::io("read", &dir))? {
            let entry = entry.map_err(BuilderError::io("read", &dir))?;
            let path = entry.path();
            if entry
                .file_type()
                .map_err(BuilderError::io("read", &path))?
                .is_dir()
            {
                pending.push(path.clone());
            }
            utimensat(CWD, &path, &times, AtFlags::SYMLINK_NOFOLLOW)
                .map_err(|e| BuilderError::io("set the times of", &path)(e.into()))?;
        }
    }
    utimensat(CWD, root, &times, AtFlags::SYMLINK_NOFOLLOW)
        .map_err(|e| BuilderError::io("set the times of", root)(e.into()))?;
    Ok(())
}

/// One package, as its control area describes it.
struct Control {
    name: String,
    architecture: String,
    multi_arch_same: bool,
    /// The `control` file's text: the `status` stanza's fields.
    text: String,
    /// Names of the packages it `Pre-Depends` on and `Depends` on (any alternative).
    depends: Vec<String>,
    conffiles: Vec<String>,
    /// The unpacked package.
    tree: PathBuf,
}

impl Control {
    /// The name of its files under `info/`: `libc6:amd64` for `Multi-Arch: same`.
    fn info_name(&self) -> String {
        if self.multi_arch_same {
            format!("{}:{}", self.name, self.architecture)
        } else {
            self.name.clone()
        }
    }
}

fn build(
    drv: &Derivation,
    inputs: &DebianRootInputs,
    out: &Path,
    events: &dyn Events,
) -> Result<()> {
    // Neither root nor a user namespace: the sandbox's own diagnostic.
    let privilege = privilege()?;
    let scratch = scratch_beside(out)?;
    let root = scratch.path().join("root");
    let trees: Vec<&Path> = inputs.packages.iter().map(StorePath::path).collect();
    let started = std::time::Instant::now();
    let mut merged = merge_packages(&trees, &root, How::Copy)?;
    if merged.conflicts > 0 {
        events.message(
            drv,
            &format!(
                "{} path(s) shipped by more than one package; the first package's kept",
                merged.conflicts
            ),
        );
    }
    let controls = trees
        .iter()
        .map(|tree| read_control(tree))
        .collect::<Result<Vec<_>>>()?;
    // Without root, the owners and modes the merge could not set are faked's to present.
    let faked_owners = match privilege {
        Privilege::Root => None,
        Privilege::UserNamespace => Some(&mut merged.unowned),
    };
    write_database(&root, &controls, faked_owners)?;
    write_files(&root, &inputs.files)?;
    set_times(&root, inputs.source_date_epoch)?;
    let log = scratch.path().join("dpkg.log");
    let script = scratch.path().join("configure.sh");
    std::fs::write(
        &script,
        configure_script(&controls, &inputs.debconf_selections),
    )
    .map_err(BuilderError::io("write", &script))?;
    disable_services(&root)?;
    let copied = started.elapsed();
    let epoch = inputs.source_date_epoch.to_string();
    let mut sandbox = Sandbox::new(&root, true)?
        .bind(&script, "/tmp/kiln-configure.sh")
        .env("DEBIAN_FRONTEND", "noninteractive")
        .env("DEBCONF_NONINTERACTIVE_SEEN", "true")
        .env("DEBIAN_PRIORITY", "critical")
        .env("SOURCE_DATE_EPOCH", &epoch);
    let configure = ["/bin/sh", "/tmp/kiln-configure.sh"];
    let mut argv: Vec<String> = configure.iter().map(|a| (*a).to_string()).collect();
    let session = match privilege {
        Privilege::Root => None,
        Privilege::UserNamespace => {
            let session = fakeroot::Session::new(
                inputs.fakeroot.path(),
                &scratch.path().join("fakeroot"),
                &merged.unowned,
            )?;
            sandbox = session.bind(sandbox);
            argv = session.argv(&configure);
            Some(session)
        }
    };
    let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
    if let Err(err) = sandbox.run(&argv, "configuring the packages", &log) {
        return Err(name_the_package(err, &log));
    }
    let faked = session.map(|session| session.saved()).transpose()?;
    enable_services(&root)?;
    let configured = started.elapsed();
    normalise(&root)?;
    std::fs::create_dir(out).map_err(BuilderError::io("create", out))?;
    export(&root, out)?;
    let table;
    let owners = match &faked {
        None => Owners::FromTree,
        Some(records) => {
            let applied;
            (table, applied) = fakeroot::owner_table(&root, records)?;
            if applied.stale > 0 {
                events.message(
                    drv,
                    &format!(
                        "{} fakeroot record(s) left by files removed behind fakeroot's back \
                         ignored",
                        applied.stale
                    ),
                );
            }
            Owners::Table(&table)
        }
    };
    write_layer(
        &root,
        out,
        inputs.compression,
        inputs.source_date_epoch,
        owners,
    )?;
    let squashed = started.elapsed();
    // The configured tree (gigabytes for a desktop, hundreds of thousands of files) goes now,
    // not when the store registers the output, so its removal is timed with the rest.
    let scratch_path = scratch.path().to_path_buf();
    scratch
        .close()
        .map_err(BuilderError::io("remove", &scratch_path))?;
    // The split the benchmarks report (tests/bench/liveroot.sh, tests/bench/gnome.sh).
    let secs = |d: std::time::Duration| d.as_secs_f64();
    events.message(
        drv,
        &format!(
            "{} packages: copied in {:.1} s, configured in {:.1} s{}, squashfs in {:.1} s, \
             scratch removed in {:.1} s",
            controls.len(),
            secs(copied),
            secs(configured - copied),
            if faked.is_some() {
                " (under fakeroot)"
            } else {
                ""
            },
            secs(squashed - configured),
            secs(started.elapsed() - squashed)
        ),
    );
    Ok(())
}

/// A package's control area (`.kiln-deb/control/` of its unpacked tree).
fn read_control(tree: &Path) -> Result<Control> {
    let dir = tree.join(kiln_debian::CONTROL_DIR).join("control");
    let path = dir.join("control");
    let text = std::fs::read_to_string(&path).map_err(BuilderError::io("read", &path))?;
    let paragraphs = kiln_debian::deb822::parse(&text, &path.display().to_string())
        .map_err(|e| BuilderError::invalid(e.to_string()))?;
    let paragraph = paragraphs
        .first()
        .ok_or_else(|| BuilderError::invalid(format!("{} is empty", path.display())))?;
    let field = |name: &str| paragraph.get(name).map(str::to_string);
    let name = field("Package")
        .ok_or_else(|| BuilderError::invalid(format!("{} has no Package", path.display())))?;
    let mut depends = Vec::new();
    for relation in ["Pre-Depends", "Depends"] {
        if let Some(value) = paragraph.get(relation) {
            for group in value.split(',') {
                for alternative in group.split('|') {
                    let name = alternative.split_whitespace().next().unwrap_or("");
                    let name = name.split(':').next().unwrap_or("");
                    if !name.is_empty() {
                        depends.push(name.to_string());
                    }
                }
            }
        }
    }
    let conffiles = std::fs::read_to_string(dir.join("conffiles"))
        .unwrap_or_default()
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with('/'))
        // `remove-on-upgrade` flags name files dpkg removes; a fresh install has none.
        .filter_map(|l| {
            l.split_whitespace()
                .next_back()
                .filter(|p| p.starts_with('/'))
        })
        .map(str::to_string)
        .collect();
    Ok(Control {
        architecture: field("Architecture").unwrap_or_else(|| "all".into()),
        multi_arch_same: field("Multi-Arch").as_deref() == Some("same"),
        text: text.trim_end().to_string() + "\n",
        depends,
        conffiles,
        tree: tree.to_path_buf(),
        name,
    })
}

/// dpkg's database as `dpkg --unpack` of every package would leave it. `faked_owners` (without
/// root) are the records of what the merge could not give its owner or mode; the copies of
/// conffiles get theirs.
fn write_database(
    root: &Path,
    controls: &[Control],
    mut faked_owners: Option<&mut Vec<fakeroot::Record>>,
) -> Result<()> {
    let admin = root.join("var/lib/dpkg");
    for dir in ["info", "updates", "triggers", "alternatives", "parts"] {
        let path = admin.join(dir);
        std::fs::create_dir_all(&path).map_err(BuilderError::io("create", &path))?;
    }
    let write = |rel: &str, text: &str| -> Result<()> {
        let path = admin.join(rel);
        std::fs::write(&path, text).map_err(BuilderError::io("write", &path))
    };
    write("arch", "amd64\n")?;
    for empty in ["diversions", "statoverride", "triggers/Unincorp"] {
        write(empty, "")?;
    }
    let mut status = String::new();
    // By package, written in the order dpkg would have unpacked them (as it appends).
    let mut file_interests: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    let mut explicit: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut sorted: Vec<&Control> = controls.iter().collect();
    sorted.sort_by(|a, b| a.name.cmp(&b.name));
    for control in &sorted {
        // The stanza: the control file, with dpkg's status after `Package`.
        let mut lines = control.text.lines();
        let first = lines.next().unwrap_or_default();
        let _ = writeln!(status, "{first}\nStatus: install ok unpacked");
        for line in lines {
            let _ = writeln!(status, "{line}");
        }
        if !control.conffiles.is_empty() {
            status.push_str("Conffiles:\n");
            for conffile in &control.conffiles {
                let _ = writeln!(status, " {conffile} newconffile");
                move_conffile(root, conffile, faked_owners.as_deref_mut())?;
            }
        }
        status.push('\n');
        let info = control.info_name();
        let kept = control.tree.join(kiln_debian::CONTROL_DIR);
        let manifest = std::fs::read_to_string(kept.join(kiln_debian::FILES_MANIFEST))
            .map_err(BuilderError::io("read", &kept))?;
        let list: String = manifest
            .lines()
            .filter_map(|line| line.split('\t').nth(6))
            .flat_map(|path| [path, "\n"])
            .collect();
        write(&format!("info/{info}.list"), &list)?;
        let control_dir = kept.join("control");
        let entries =
            std::fs::read_dir(&control_dir).map_err(BuilderError::io("list", &control_dir))?;
        for entry in entries {
            let entry = entry.map_err(BuilderError::io("list", &control_dir))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if name == "control" {
                continue;
            }
            let to = admin.join("info").join(format!("{info}.{name}"));
            std::fs::copy(entry.path(), &to).map_err(BuilderError::io("copy to", &to))?;
            let executable =
                ["preinst", "postinst", "prerm", "postrm", "config"].contains(&name.as_str());
            crate::set_mode(&to, if executable { 0o755 } else { 0o644 })?;
            if name == "triggers" {
                let text = std::fs::read_to_string(entry.path())
                    .map_err(BuilderError::io("read", &entry.path()))?;
                for line in text.lines().map(str::trim) {
                    let mut words = line.split_whitespace();
                    let (Some(kind), Some(trigger)) = (words.next(), words.next()) else {
                        continue;
                    };
                    let suffix = match kind {
                        "interest" | "interest-await" => "",
                        "interest-noawait" => "/noawait",
                        _ => continue,
                    };
                    let who = format!("{}{suffix}", control.name);
                    if trigger.starts_with('/') {
                        file_interests
                            .entry(control.name.as_str())
                            .or_default()
                            .push(format!("{trigger} {who}"));
                    } else {
                        explicit.entry(trigger.to_string()).or_default().push(who);
                    }
                }
            }
        }
    }
    write("status", &status)?;
    let file: String = dependency_order(controls)
        .iter()
        .filter_map(|c| file_interests.get(c.name.as_str()))
        .flatten()
        .flat_map(|l| [l.as_str(), "\n"])
        .collect();
    write("triggers/File", &file)?;
    for (trigger, packages) in &explicit {
        let text: String = packages.iter().flat_map(|p| [p.as_str(), "\n"]).collect();
        write(&format!("triggers/{trigger}"), &text)?;
    }
    Ok(())
}

/// A fresh conffile waits at `<path>.dpkg-new` for `dpkg --configure` to install it. A copy
/// also stays at `<path>`, as mmdebstrap's extraction of the Essential packages leaves them
/// before dpkg runs: scripts configured earlier read them (`pwconv` reads `login.defs`), and
/// dpkg, finding the same bytes there, installs the new file without a question.
///
/// The copy gets the original's owner and mode: as root on the inode; without root (where the
/// original's may be a fakeroot record, `/etc/sudoers`' 0440 say) as a record of its own, since
/// dpkg renames the copy over the original and the image takes the copy's.
fn move_conffile(
    root: &Path,
    conffile: &str,
    faked_owners: Option<&mut Vec<fakeroot::Record>>,
) -> Result<()> {
    let rel = conffile.trim_start_matches('/');
    let path = root.join(rel);
    match std::fs::symlink_metadata(&path) {
        Ok(meta) if meta.is_file() => {}
        _ => return Ok(()), // merged-/usr, a link, or a conffile the package does not ship
    }
    let new = root.join(format!("{rel}.dpkg-new"));
    // `copy` keeps the mode; an owner other than root (rare for a conffile) is kept too.
    std::fs::copy(&path, &new).map_err(BuilderError::io("copy", &path))?;
    let meta = std::fs::symlink_metadata(&path).map_err(BuilderError::io("read", &path))?;
    match faked_owners {
        None => {
            let (uid, gid) = (meta.uid(), meta.gid());
            if (uid, gid) != (0, 0) {
                std::os::unix::fs::lchown(&new, Some(uid), Some(gid))
                    .map_err(BuilderError::io("set the owner of", &new))?;
            }
        }
        Some(records) => {
            let original = records
                .iter()
                .find(|r| (r.dev, r.ino) == (meta.dev(), meta.ino()))
                .copied();
            if let Some(original) = original {
                records.push(fakeroot::Record::of(
                    &new,
                    original.uid,
                    original.gid,
                    original.mode,
                )?);
            }
        }
    }
    Ok(())
}

/// The script the sandbox runs: preinsts in dependency order, `dpkg --configure -a`, then every
/// declared trigger activated and processed.
fn configure_script(controls: &[Control], selections: &str) -> String {
    let mut script = String::from(
        "#!/bin/sh\n# Generated by kiln's debian-root builder.\nset -e\n\
         export DPKG_ADMINDIR=/var/lib/dpkg DPKG_ROOT= DPKG_MAINTSCRIPT_ARCH=amd64\n\
         export DPKG_RUNNING_VERSION=\"$(dpkg-query -W -f='${Version}' dpkg)\"\n",
    );
    for control in dependency_order(controls) {
        let info = control.info_name();
        let _ = writeln!(
            script,
            "if [ -x /var/lib/dpkg/info/{info}.preinst ]; then echo 'kiln: preinst {name}'; \
             DPKG_MAINTSCRIPT_PACKAGE={name} DPKG_MAINTSCRIPT_NAME=preinst \
             DPKG_MAINTSCRIPT_PACKAGE_REFCOUNT=1 /var/lib/dpkg/info/{info}.preinst install \
             || {{ echo 'kiln: preinst of {name} failed'; exit 1; }}; fi",
            name = control.name
        );
    }
    let selections: String = selections
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .flat_map(|l| [l, "\n"])
        .collect();
    if !selections.is_empty() {
        // The answers go in before any package that asks is configured (its `config` script
        // would otherwise answer from defaults or from files a first run left): debconf and
        // what it depends on are configured first, in dependency order, to read them.
        let order = dependency_order(controls);
        let needed = dependency_closure(controls, "debconf");
        let first: Vec<&str> = order
            .iter()
            .map(|c| c.name.as_str())
            .filter(|n| needed.contains(n))
            .collect();
        if !first.is_empty() {
            let _ = writeln!(script, "dpkg --configure {}", first.join(" "));
            let _ = write!(
                script,
                "debconf-set-selections <<'KILN_SELECTIONS'\n{selections}KILN_SELECTIONS\n"
            );
        }
    }
    script.push_str("dpkg --configure -a\n");
    // Everything was "unpacked" at once: every file trigger and every explicit trigger a
    // package is interested in fires once, now that all packages are configured.
    script.push_str(
        "for t in $(cut -d' ' -f1 /var/lib/dpkg/triggers/File | sort -u) \
         $(ls /var/lib/dpkg/triggers | grep -vx 'File\\|Unincorp\\|Lock'); do \
         dpkg-trigger --no-await \"$t\"; done\n\
         dpkg --triggers-only --pending\n",
    );
    script.push_str("dpkg --audit\n");
    script
}

/// `name` and every package it depends on, directly or not, among `controls`.
fn dependency_closure<'a>(controls: &'a [Control], name: &'a str) -> BTreeSet<&'a str> {
    let by_name: BTreeMap<&str, &Control> = controls.iter().map(|c| (c.name.as_str(), c)).collect();
    let mut seen = BTreeSet::new();
    let mut queue = vec![name];
    while let Some(next) = queue.pop() {
        if let Some(control) = by_name.get(next) {
            if seen.insert(control.name.as_str()) {
                queue.extend(control.depends.iter().map(String::as_str));
            }
        }
    }
    seen
}

/// Packages before the packages that depend on them (Pre-Depends and Depends), then by name;
/// a dependency cycle is broken at the package first by name.
fn dependency_order(controls: &[Control]) -> Vec<&Control> {
    let by_name: BTreeMap<&str, &Control> = controls.iter().map(|c| (c.name.as_str(), c)).collect();
    let mut done: BTreeSet<&str> = BTreeSet::new();
    let mut order = Vec::new();
    fn visit<'a>(
        name: &'a str,
        by_name: &BTreeMap<&'a str, &'a Control>,
        visiting: &mut BTreeSet<&'a str>,
        done: &mut BTreeSet<&'a str>,
        order: &mut Vec<&'a Control>,
    ) {
        if done.contains(name) || !visiting.insert(name) {
            return;
        }
        if let Some(control) = by_name.get(name) {
            for dep in &control.depends {
                if let Some((dep_name, _)) = by_name.get_key_value(dep.as_str()) {
                    visit(dep_name, by_name, visiting, done, order);
                }
            }
            done.insert(name);
            order.push(control);
        }
        visiting.remove(name);
    }
    for name in by_name.keys() {
        let mut visiting = BTreeSet::new();
        visit(name, &by_name, &mut visiting, &mut done, &mut order);
    }
    order
}

/// `policy-rc.d` refusing every service, and a `start-stop-daemon` that starts nothing.
fn disable_services(root: &Path) -> Result<()> {
    let policy = root.join("usr/sbin/policy-rc.d");
    std::fs::write(&policy, "#!/bin/sh\nexit 101\n").map_err(BuilderError::io("write", &policy))?;
    crate::set_mode(&policy, 0o755)?;
    let ssd = root.join("usr/sbin/start-stop-daemon");
    if ssd.is_file() {
        let real = root.join("usr/sbin/start-stop-daemon.REAL");
        std::fs::rename(&ssd, &real).map_err(BuilderError::io("move", &ssd))?;
        std::fs::write(
            &ssd,
            "#!/bin/sh\necho 'Warning: Fake start-stop-daemon called, doing nothing'\n",
        )
        .map_err(BuilderError::io("write", &ssd))?;
        crate::set_mode(&ssd, 0o755)?;
    }
    Ok(())
}

/// Undoes [`disable_services`].
fn enable_services(root: &Path) -> Result<()> {
    let policy = root.join("usr/sbin/policy-rc.d");
    let _ = std::fs::remove_file(&policy);
    let real = root.join("usr/sbin/start-stop-daemon.REAL");
    if real.is_file() {
        let ssd = root.join("usr/sbin/start-stop-daemon");
        std::fs::rename(&real, &ssd).map_err(BuilderError::io("move", &real))?;
    }
    Ok(())
}

/// Removes what depends on when and where the root was built (see the module comment).
fn normalise(root: &Path) -> Result<()> {
    let remove = [
        "var/log/dpkg.log",
        "var/log/alternatives.log",
        "var/log/apt/history.log",
        "var/log/apt/term.log",
        "var/log/apt/eipp.log.xz",
        "var/cache/ldconfig/aux-cache",
        "var/lib/dbus/machine-id",
        "var/lib/systemd/random-seed",
        "var/lib/dpkg/status-old",
        "var/lib/dpkg/diversions-old",
        "var/lib/dpkg/statoverride-old",
        "var/cache/debconf/config.dat-old",
        "var/cache/debconf/passwords.dat-old",
        "var/cache/debconf/templates.dat-old",
        "etc/passwd-",
        "etc/group-",
        "etc/shadow-",
        "etc/gshadow-",
        "etc/subuid-",
        "etc/subgid-",
    ];
    for rel in remove {
        let path = root.join(rel);
        if std::fs::symlink_metadata(&path).is_ok() {
            std::fs::remove_file(&path).map_err(BuilderError::io("remove", &path))?;
        }
    }
    let ssh = root.join("etc/ssh");
    if let Ok(entries) = std::fs::read_dir(&ssh) {
        for entry in entries.filter_map(std::result::Result::ok) {
            if entry.file_name().to_string_lossy().starts_with("ssh_host_") {
                std::fs::remove_file(entry.path())
                    .map_err(BuilderError::io("remove", &entry.path()))?;
            }
        }
    }
    let machine_id = root.join("etc/machine-id");
    if let Ok(meta) = std::fs::symlink_metadata(&machine_id) {
        // systemd makes it read-only (0444); without root, its owner must lift that to write.
        let mode = meta.permissions().mode() & 0o7777;
        crate::set_mode(&machine_id, mode | 0o200)?;
        std::fs::write(&machine_id, "").map_err(BuilderError::io("write", &machine_id))?;
        crate::set_mode(&machine_id, mode)?;
    }
    Ok(())
}

/// The accounts the packages made and `/etc/skel`, for the layer that adds the profile's
/// users; and the installed packages.
fn export(root: &Path, out: &Path) -> Result<()> {
    let etc = out.join("etc");
    std::fs::create_dir(&etc).map_err(BuilderError::io("create", &etc))?;
    for file in ["passwd", "group", "shadow", "gshadow"] {
        let from = root.join("etc").join(file);
        if from.is_file() {
            std::fs::copy(&from, etc.join(file)).map_err(BuilderError::io("copy", &from))?;
        }
    }
    copy_plain_tree(&root.join("etc/skel"), &etc.join("skel"))?;
    let status_path = root.join("var/lib/dpkg/status");
    let status =
        std::fs::read_to_string(&status_path).map_err(BuilderError::io("read", &status_path))?;
    let paragraphs = kiln_debian::deb822::parse(&status, "status")
        .map_err(|e| BuilderError::invalid(e.to_string()))?;
    let mut packages = String::new();
    for paragraph in &paragraphs {
        if paragraph.get("Status") == Some("install ok installed") {
            let _ = writeln!(
                packages,
                "{} {}",
                paragraph.get("Package").unwrap_or_default(),
                paragraph.get("Version").unwrap_or_default()
            );
        }
    }
    let path = out.join("packages");
    std::fs::write(&path, packages).map_err(BuilderError::io("write", &path))
}

/// Files, directories and symlinks of `from` (missing: nothing) copied to `to`.
fn copy_plain_tree(from: &Path, to: &Path) -> Result<()> {
    let Ok(meta) = std::fs::symlink_metadata(from) else {
        return Ok(());
    };
    if meta.is_dir() {
        std::fs::create_dir_all(to).map_err(BuilderError::io("create", to))?;
        let entries = std::fs::read_dir(from).map_err(BuilderError::io("list", from))?;
        for entry in entries.filter_map(std::result::Result::ok) {
            copy_plain_tree(&entry.path(), &to.join(entry.file_name()))?;
        }
    } else if meta.file_type().is_symlink() {
        let target = std::fs::read_link(from).map_err(BuilderError::io("read", from))?;
        std::os::unix::fs::symlink(target, to).map_err(BuilderError::io("create", to))?;
    } else {
        std::fs::copy(from, to).map_err(BuilderError::io("copy to", to))?;
    }
    Ok(())
}

/// A failed configuration names the package whose script failed, from dpkg's words (or
/// kiln's own for a preinst), and shows that script's part of the log: from dpkg's "Setting up
/// PACKAGE" (or kiln's "preinst PACKAGE") to its error report. dpkg goes on configuring what
/// does not depend on the failure, so the log's tail would show other packages.
fn name_the_package(err: BuilderError, log: &Path) -> BuilderError {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let mut failed: Vec<String> = Vec::new();
    let mut excerpts: Vec<String> = Vec::new();
    for (at, line) in lines.iter().enumerate() {
        let name = line
            .strip_prefix("kiln: preinst of ")
            .and_then(|rest| rest.strip_suffix(" failed"))
            .or_else(|| {
                line.strip_prefix("dpkg: error processing package ")
                    .and_then(|rest| rest.split_whitespace().next())
            });
        let Some(name) = name else { continue };
        if failed.iter().any(|f| f == name) {
            continue;
        }
        failed.push(name.to_string());
        let starts = [
            format!("Setting up {name} "),
            format!("Setting up {name}:"),
            format!("kiln: preinst {name}"),
        ];
        let start = lines[..at]
            .iter()
            .rposition(|l| starts.iter().any(|s| l.starts_with(s.as_str())))
            .unwrap_or(at);
        // dpkg's report is the error line and the indented lines after it.
        let end = lines[at + 1..]
            .iter()
            .position(|l| !l.starts_with(' '))
            .map_or(lines.len(), |n| at + 1 + n);
        excerpts.push(lines[start..end].join("\n"));
    }
    match err {
        BuilderError::SandboxedProgram { .. } if !failed.is_empty() => {
            BuilderError::MaintainerScript {
                packages: failed.join(", "),
                log: excerpts.join("\n...\n"),
            }
        }
        other => other,
    }
}
