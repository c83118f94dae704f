//! The image builders: `initrd` (busybox, module closure, firmware, `/init`) and `iso` (the
//! bootable medium: isolinux for BIOS, a FAT ESP with systemd-boot for UEFI, isohybrid; beside
//! it the image's package manifest and its SPDX SBOM, see `manifest.rs` and `spdx.rs`).
//!
//! Both boot loaders show the same menu, `isoImage.bootEntries` in order, the first entry the
//! default: isolinux as `LABEL`s of one `isolinux.cfg`, systemd-boot as one
//! `loader/entries/kiln-<name>.conf` per entry. systemd-boot orders entries without a
//! `sort-key` by file name, *descending* (so that the newest kernel version comes first); each
//! entry gets a `sort-key` with its index instead, which it sorts ascending.

use crate::error::{BuilderError, Result};
use crate::modules::ModDirVersion;
use kiln_image::cpio::{self, Compressor, CpioOptions, CpioPath, Entry};
use kiln_image::initrd;
use kiln_image::iso::{self, FileSource, IsoSpec, IsoTree, VolumeId};
use kiln_image::kmod;
use kiln_store::inputs::{self, StorePath};
use kiln_store::{BuildError, Builder, Derivation, Events};
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub(crate) const INITRD: &str = "initrd";
pub(crate) const ISO: &str = "iso";

/// What the `initrd` builder reads. Output: `$out/initrd`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct InitrdInputs {
    mod_dir_version: ModDirVersion,
    /// A package with `lib/modules/<version>`, normally an `aggregate-modules` output, whose
    /// saved index it reads.
    modules_tree: StorePath,
    /// Module names or aliases; their closure is included.
    #[serde(default)]
    modules: Vec<String>,
    /// Packages with `lib/firmware`.
    #[serde(default)]
    firmware: Vec<StorePath>,
    /// busybox-static's package.
    busybox: StorePath,
    /// The `/init` script.
    init: String,
    /// `/etc/modprobe.d/kiln.conf` (blacklists, options), read by stage 1's `modprobe`.
    #[serde(default)]
    modprobe_config: String,
    /// `boot.initrd.compressor`: `zstd`, `gzip`, `xz` (or a path to one), or `cat`.
    compressor: String,
    /// Every member's mtime.
    #[serde(rename = "SOURCE_DATE_EPOCH")]
    source_date_epoch: u32,
}

pub(crate) struct Initrd;

impl Builder for Initrd {
    fn check(&self, drv: &Derivation, inputs: &[PathBuf]) -> Result<(), BuildError> {
        let parsed: InitrdInputs = inputs::check(drv, inputs).map_err(BuildError::new)?;
        Compressor::from_config(&parsed.compressor, &[]).map_err(BuilderError::from)?;
        Ok(())
    }

    fn build(
        &self,
        drv: &Derivation,
        inputs: &[PathBuf],
        out: &Path,
        events: &dyn Events,
    ) -> Result<(), BuildError> {
        let inputs: InitrdInputs = inputs::parse(drv, inputs).map_err(BuildError::new)?;
        Ok(build_initrd(drv, &inputs, out, events)?)
    }
}

fn path(p: &str) -> Result<CpioPath> {
    Ok(CpioPath::new(p)?)
}

fn build_initrd(
    drv: &Derivation,
    inputs: &InitrdInputs,
    out: &Path,
    events: &dyn Events,
) -> Result<()> {
    let version = inputs.mod_dir_version.as_str();
    let root = inputs
        .modules_tree
        .join(Path::new("lib/modules").join(version))?;
    if !root.is_dir() {
        return Err(BuilderError::invalid(format!(
            "`modulesTree` has no lib/modules/{version}"
        )));
    }
    let index = kmod::open_index(&root)?;
    let closure = kmod::resolve(&index, &inputs.modules)?;
    let mut entries = initrd::module_entries(&index, &closure, version)?;
    // So /init can tell a built-in module (nothing to load) from a missing one.
    let builtin = root.join("modules.builtin");
    if builtin.is_file() {
        entries.push(Entry::file(
            path(&format!("lib/modules/{version}/modules.builtin"))?,
            0o644,
            builtin,
        ));
    }

    // The module packages' modprobe.d files (aggregate-modules gathered them), then kiln's own.
    let modprobe_d = inputs.modules_tree.join("etc/modprobe.d")?;
    if let Ok(read) = std::fs::read_dir(&modprobe_d) {
        let mut files: Vec<_> = read.filter_map(std::result::Result::ok).collect();
        files.sort_by_key(std::fs::DirEntry::file_name);
        for file in files {
            let name = file.file_name().to_string_lossy().into_owned();
            if file.file_type().is_ok_and(|t| t.is_file()) && name != "kiln.conf" {
                let at = path(&format!("etc/modprobe.d/{name}"))?;
                entries.push(Entry::file(at, 0o644, file.path()));
            }
        }
    }

    let mut firmware_trees = Vec::new();
    for package in &inputs.firmware {
        firmware_trees.push(package.join("lib/firmware")?);
    }
    let lookup = initrd::firmware::find_firmware(&closure.firmware, &firmware_trees)?;
    if !lookup.missing.is_empty() {
        events.message(
            drv,
            &format!(
                "warning: firmware named by the initrd's modules is in no hardware.firmware package: {}",
                lookup.missing.join(", ")
            ),
        );
    }
    entries.extend(initrd::firmware_entries(&lookup)?);

    let busybox = inputs.busybox.join("bin/busybox")?;
    entries.extend(busybox_entries(&busybox)?);
    entries.push(Entry::bytes(
        path("init")?,
        0o755,
        inputs.init.as_bytes().to_vec(),
    ));
    for (file, text) in [
        ("etc/passwd", "root:x:0:0:root:/root:/bin/sh\n"),
        ("etc/group", "root:x:0:\n"),
        (
            "etc/profile",
            "export PATH=/bin:/sbin:/usr/bin:/usr/sbin\nexport PS1='[\\u@\\h:\\w]# '\n",
        ),
        ("etc/modprobe.d/kiln.conf", inputs.modprobe_config.as_str()),
    ] {
        entries.push(Entry::bytes(path(file)?, 0o644, text.as_bytes().to_vec()));
    }
    // The kernel opens /dev/console before /init runs, so it must exist in the archive.
    entries.push(Entry::char_device(path("dev/console")?, 0o600, 5, 1));
    for dir in [
        "proc",
        "sys",
        "dev",
        "run",
        "tmp",
        "root",
        "iso",
        "mnt",
        "lib/firmware",
    ] {
        entries.push(Entry::dir(path(dir)?, 0o755));
    }
    let compressor = Compressor::from_config(&inputs.compressor, &[])?;
    let options = CpioOptions {
        mtime: inputs.source_date_epoch,
    };
    std::fs::create_dir(out).map_err(BuilderError::io("create", out))?;
    let file = out.join("initrd");
    cpio::write_initrd(&file, dedup(entries), &options, compressor)?;
    crate::set_mode(&file, 0o644)
}

/// Later entries for the same path lose (a module tree and firmware may both add a directory).
fn dedup(entries: Vec<Entry>) -> Vec<Entry> {
    let mut seen = std::collections::BTreeSet::new();
    entries
        .into_iter()
        .filter(|e| seen.insert(e.path.as_str().to_string()))
        .collect()
}

/// `bin/busybox` and a symlink per applet, where busybox itself says each belongs.
fn busybox_entries(busybox: &Path) -> Result<Vec<Entry>> {
    let applets = busybox_applets(busybox)?;
    let mut entries = vec![Entry::file(path("bin/busybox")?, 0o755, busybox)];
    for applet in applets {
        if applet != "bin/busybox" {
            entries.push(Entry::symlink(path(&applet)?, "/bin/busybox"));
        }
    }
    Ok(entries)
}

/// What the `iso` builder reads. Output: `$out/iso/<isoName>`, and beside it
/// `<stem>.manifest.json` and `<stem>.spdx.json` (`stem`: the name without `.iso`).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct IsoInputs {
    iso_name: String,
    #[serde(rename = "volumeID")]
    volume_id: String,
    /// The kernel image file.
    kernel: StorePath,
    /// An `initrd` output.
    initrd: StorePath,
    /// The live root's layers, bottom first: `[{ "name": "base", "layer": <a layer's output> }]`,
    /// each put at `/live/<name>.squashfs`, where the initrd stacks them.
    #[serde(deserialize_with = "inputs::json")]
    layers: Vec<Layer>,
    bios: bool,
    efi: bool,
    usb: bool,
    /// isolinux's and syslinux-common's packages, for BIOS.
    isolinux: Option<StorePath>,
    syslinux: Option<StorePath>,
    /// systemd-boot-efi's package, for UEFI without Secure Boot.
    systemd_boot: Option<StorePath>,
    /// UEFI through Debian's signed chain (`isoImage.secureBoot`): shim-signed's shim, then
    /// grub-efi-amd64-signed's GRUB, with shim-helpers-amd64-signed's MokManager beside them.
    #[serde(default)]
    secure_boot: bool,
    shim: Option<StorePath>,
    shim_helpers: Option<StorePath>,
    grub: Option<StorePath>,
    /// The menu's title.
    menu_title: String,
    /// The menu, first entry the default: `[{ "name", "label", "params" }]`.
    #[serde(deserialize_with = "inputs::json")]
    boot_entries: Vec<BootEntry>,
    /// Seconds the menu waits; none: wait for a choice.
    timeout: Option<u32>,
    /// Extra files: `[{ "source": <store path>, "target": "/on/the/iso" }]`.
    #[serde(default, deserialize_with = "inputs::json")]
    contents: Vec<Content>,
    /// A `package-manifest` output: the Debian packages of the image, copied beside the ISO as
    /// `NAME.manifest.json` and described with the ISO in `NAME.spdx.json`.
    package_manifest: StorePath,
    /// Every timestamp on the medium (ISO 9660 records and the FAT ESP), and the SBOM's.
    #[serde(rename = "SOURCE_DATE_EPOCH")]
    source_date_epoch: u32,
}

/// One squashfs layer of the live root: `name` is its file's (`<name>.squashfs`), `layer` a
/// layer builder's output.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Layer {
    pub(crate) name: String,
    pub(crate) layer: StorePath,
}

/// Layer names are file names stage 1 builds paths from: unique, of letters, digits, `-`, `_`.
pub(crate) fn validate_layer_names(layers: &[Layer]) -> Result<()> {
    let mut names = std::collections::BTreeSet::new();
    for layer in layers {
        let plain = !layer.name.is_empty()
            && layer
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !plain || !names.insert(layer.name.as_str()) {
            return Err(BuilderError::invalid(format!(
                "layer name `{}` must be unique, of letters, digits, `-` and `_`",
                layer.name
            )));
        }
    }
    Ok(())
}

/// One menu entry: the kernel and initrd of the medium with a command line of its own.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct BootEntry {
    /// isolinux's `LABEL` and the systemd-boot entry's file name: `[a-z0-9-]`, at most 32.
    pub(crate) name: String,
    /// What the menu shows (one line).
    pub(crate) label: String,
    /// The whole kernel command line.
    pub(crate) params: String,
}

#[derive(Deserialize)]
struct Content {
    source: StorePath,
    target: String,
}

pub(crate) struct Iso;

const ISOLINUX_BIN: &str = "usr/lib/ISOLINUX/isolinux.bin";
const ISOHDPFX_BIN: &str = "usr/lib/ISOLINUX/isohdpfx.bin";
const SYSLINUX_BIOS: &str = "usr/lib/syslinux/modules/bios";
const SYSTEMD_BOOT: &str = "usr/lib/systemd/boot/efi/systemd-bootx64.efi";
pub(crate) const SHIM: &str = "usr/lib/shim/shimx64.efi.signed";
const MOK_MANAGER: &str = "usr/lib/shim/mmx64.efi.signed";
const GRUB_SIGNED: &str = "usr/lib/grub/x86_64-efi-signed/grubx64.efi.signed";

impl IsoInputs {
    /// What can be checked before anything is built.
    fn validate(&self) -> Result<VolumeId> {
        let volume_id = VolumeId::new(&self.volume_id)?;
        if self.iso_name.contains('/') || self.iso_name.is_empty() || self.iso_name == ".." {
            return Err(BuilderError::invalid(format!(
                "isoImage.isoName `{}` must be a file name",
                self.iso_name
            )));
        }
        if !self.bios && !self.efi {
            return Err(BuilderError::invalid(
                "the ISO boots neither with BIOS nor with UEFI",
            ));
        }
        let missing = |what: &str, when: &str| {
            BuilderError::invalid(format!("`{what}` is needed for {when}"))
        };
        if self.bios && (self.isolinux.is_none() || self.syslinux.is_none()) {
            return Err(missing("isolinux` and `syslinux", "BIOS boot"));
        }
        if self.efi && !self.secure_boot && self.systemd_boot.is_none() {
            return Err(missing("systemdBoot", "UEFI boot"));
        }
        if self.efi
            && self.secure_boot
            && (self.shim.is_none() || self.shim_helpers.is_none() || self.grub.is_none())
        {
            return Err(missing(
                "shim`, `shimHelpers` and `grub",
                "UEFI boot with Secure Boot",
            ));
        }
        if self.boot_entries.is_empty() {
            return Err(BuilderError::invalid("`bootEntries` is empty"));
        }
        let mut names = std::collections::BTreeSet::new();
        for entry in &self.boot_entries {
            let plain = (1..=32).contains(&entry.name.len())
                && entry
                    .name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
            if !plain || !names.insert(entry.name.as_str()) {
                return Err(BuilderError::invalid(format!(
                    "boot entry name `{}` must be unique, 1 to 32 of `a-z`, `0-9` and `-`",
                    entry.name
                )));
            }
            for (what, text) in [("label", &entry.label), ("params", &entry.params)] {
                if text.contains(['\n', '\r']) {
                    return Err(BuilderError::invalid(format!(
                        "boot entry `{}`: its {what} must be one line",
                        entry.name
                    )));
                }
            }
        }
        validate_layer_names(&self.layers)?;
        Ok(volume_id)
    }
}

impl Builder for Iso {
    fn check(&self, drv: &Derivation, inputs: &[PathBuf]) -> Result<(), BuildError> {
        let parsed: IsoInputs = inputs::check(drv, inputs).map_err(BuildError::new)?;
        parsed.validate()?;
        Ok(())
    }

    fn build(
        &self,
        drv: &Derivation,
        inputs: &[PathBuf],
        out: &Path,
        _: &dyn Events,
    ) -> Result<(), BuildError> {
        let inputs: IsoInputs = inputs::parse(drv, inputs).map_err(BuildError::new)?;
        build_iso(&inputs, out)?;
        Ok(write_manifest_and_sbom(&inputs, out)?)
    }
}

/// `NAME.manifest.json` (the manifest step's, as it is) and `NAME.spdx.json` beside the ISO.
fn write_manifest_and_sbom(inputs: &IsoInputs, out: &Path) -> Result<()> {
    let dir = out.join("iso");
    let iso = dir.join(&inputs.iso_name);
    let stem = inputs
        .iso_name
        .strip_suffix(".iso")
        .unwrap_or(&inputs.iso_name);
    let manifest_path = inputs
        .package_manifest
        .join(crate::manifest::MANIFEST_FILE)?;
    let text = std::fs::read_to_string(&manifest_path)
        .map_err(BuilderError::io("read", &manifest_path))?;
    let manifest = kiln_debian::manifest::Manifest::parse(&text, &manifest_path.to_string_lossy())
        .map_err(|e| BuilderError::invalid(e.to_string()))?;
    let licenses_path = inputs
        .package_manifest
        .join(crate::manifest::LICENSES_FILE)?;
    let licenses: Vec<crate::spdx::ExtractedLicense> = std::fs::read(&licenses_path)
        .map_err(BuilderError::io("read", &licenses_path))
        .and_then(|bytes| {
            serde_json::from_slice(&bytes)
                .map_err(|e| BuilderError::invalid(format!("{}: {e}", licenses_path.display())))
        })?;
    let sha256 =
        kiln_debian::sha256_file(&iso).map_err(|e| BuilderError::invalid(e.to_string()))?;
    let created = kiln_image::iso::utc_timestamp(i64::from(inputs.source_date_epoch))?;
    let document = crate::spdx::document(
        &manifest,
        &licenses,
        &crate::spdx::Described {
            file_name: &inputs.iso_name,
            sha256: &sha256,
            created: &created,
        },
    );
    let mut sbom = serde_json::to_string_pretty(&document)
        .map_err(|e| BuilderError::invalid(format!("cannot write the SBOM: {e}")))?;
    sbom.push('\n');
    crate::manifest::write(&dir.join(format!("{stem}.manifest.json")), text.as_bytes())?;
    crate::manifest::write(&dir.join(format!("{stem}.spdx.json")), sbom.as_bytes())
}

fn build_iso(inputs: &IsoInputs, out: &Path) -> Result<()> {
    let volume_id = inputs.validate()?;
    let kernel = inputs.kernel.path().to_path_buf();
    let initrd = inputs.initrd.join("initrd")?;
    for file in [&kernel, &initrd] {
        if !file.is_file() {
            return Err(BuilderError::invalid(format!(
                "{} does not exist",
                file.display()
            )));
        }
    }
    let timestamp = i64::from(inputs.source_date_epoch);

    let mut tree = IsoTree::new();
    let add = |tree: &mut IsoTree, at: &str, source: FileSource| -> Result<()> {
        Ok(tree.add_file(at, 0o644, source)?)
    };
    add(&mut tree, "boot/vmlinuz", FileSource::Path(kernel.clone()))?;
    add(&mut tree, "boot/initrd", FileSource::Path(initrd.clone()))?;

    let mut boot = iso::BootOptions {
        catalog_path: Some("boot/boot.cat".into()),
        ..iso::BootOptions::default()
    };
    if let (true, Some(isolinux), Some(syslinux)) =
        (inputs.bios, &inputs.isolinux, &inputs.syslinux)
    {
        let modules = syslinux.join(SYSLINUX_BIOS)?;
        add(
            &mut tree,
            "isolinux/isolinux.bin",
            FileSource::Path(isolinux.join(ISOLINUX_BIN)?),
        )?;
        for module in ["ldlinux.c32", "menu.c32", "libutil.c32"] {
            add(
                &mut tree,
                &format!("isolinux/{module}"),
                FileSource::Path(modules.join(module)),
            )?;
        }
        let cfg = isolinux_cfg(&inputs.menu_title, &inputs.boot_entries, inputs.timeout);
        add(
            &mut tree,
            "isolinux/isolinux.cfg",
            FileSource::Bytes(cfg.into_bytes().into()),
        )?;
        boot.bios_image = Some("isolinux/isolinux.bin".into());
        if inputs.usb {
            let template = isolinux.join(ISOHDPFX_BIN)?;
            let mbr = std::fs::read(&template).map_err(BuilderError::io("read", &template))?;
            boot.hybrid_mbr = Some(Arc::from(mbr));
        }
    } else if inputs.usb {
        // A UEFI-only stick still needs a protective MBR; zeros carry no boot code.
        boot.hybrid_mbr = Some(Arc::from(vec![0u8; 432]));
    }
    if let (true, true, Some(shim), Some(helpers), Some(grub)) = (
        inputs.efi,
        inputs.secure_boot,
        &inputs.shim,
        &inputs.shim_helpers,
        &inputs.grub,
    ) {
        // Firmware with Microsoft's keys starts the shim they signed; the shim starts the GRUB
        // beside it (Debian's key, which the shim carries), and GRUB reads `$prefix/grub.cfg`,
        // its prefix built in as `/EFI/debian` on the device it came from: the ESP partition
        // of a USB stick, but the ISO 9660 tree of a CD (El Torito's image is no device to
        // GRUB). Failing that, its built-in script finds the medium by `/.disk/info` and reads
        // `/boot/grub/grub.cfg`, as on Debian's own ISOs. The menu is at all three; each
        // loads the kernel from the device it was read from, which has `/boot` too.
        let cfg = grub_cfg(
            "isoImage.bootEntries",
            &inputs.boot_entries,
            inputs.timeout,
            ("/boot/vmlinuz", "/boot/initrd"),
        );
        for at in ["EFI/debian/grub.cfg", "boot/grub/grub.cfg"] {
            add(
                &mut tree,
                at,
                FileSource::Bytes(cfg.clone().into_bytes().into()),
            )?;
        }
        add(
            &mut tree,
            ".disk/info",
            FileSource::Bytes(format!("{}\n", inputs.menu_title).into_bytes().into()),
        )?;
        let files = vec![
            (
                "EFI/BOOT/BOOTX64.EFI".to_string(),
                FileSource::Path(shim.join(SHIM)?),
            ),
            (
                "EFI/BOOT/grubx64.efi".to_string(),
                FileSource::Path(grub.join(GRUB_SIGNED)?),
            ),
            (
                "EFI/BOOT/mmx64.efi".to_string(),
                FileSource::Path(helpers.join(MOK_MANAGER)?),
            ),
            (
                "EFI/debian/grub.cfg".to_string(),
                FileSource::Bytes(cfg.into_bytes().into()),
            ),
            ("boot/vmlinuz".to_string(), FileSource::Path(kernel.clone())),
            ("boot/initrd".to_string(), FileSource::Path(initrd.clone())),
        ];
        let mut spec = kiln_image::esp::EspSpec::new("EFIBOOT", timestamp);
        spec.files = files;
        let esp = kiln_image::esp::write_esp_to_vec(&spec)?;
        add(&mut tree, "boot/efi.img", FileSource::Bytes(esp.into()))?;
        boot.efi_image = Some("boot/efi.img".into());
        boot.hybrid_gpt = inputs.usb;
    } else if let (true, Some(systemd_boot)) = (inputs.efi, &inputs.systemd_boot) {
        let loader = systemd_boot.join(SYSTEMD_BOOT)?;
        let mut files = vec![
            ("EFI/BOOT/BOOTX64.EFI".to_string(), FileSource::Path(loader)),
            ("boot/vmlinuz".to_string(), FileSource::Path(kernel.clone())),
            ("boot/initrd".to_string(), FileSource::Path(initrd.clone())),
            (
                "loader/loader.conf".to_string(),
                FileSource::Bytes(
                    loader_conf(&inputs.boot_entries[0], inputs.timeout)
                        .into_bytes()
                        .into(),
                ),
            ),
        ];
        for (index, entry) in inputs.boot_entries.iter().enumerate() {
            files.push((
                format!("loader/entries/kiln-{}.conf", entry.name),
                FileSource::Bytes(systemd_boot_entry(index, entry).into_bytes().into()),
            ));
        }
        let mut spec = kiln_image::esp::EspSpec::new("EFIBOOT", timestamp);
        spec.files = files;
        // Built in memory and written once, as part of the ISO: `fatfs` updates the FAT
        // with small reads and writes per cluster, which cost a system call each on a file.
        let esp = kiln_image::esp::write_esp_to_vec(&spec)?;
        add(&mut tree, "boot/efi.img", FileSource::Bytes(esp.into()))?;
        boot.efi_image = Some("boot/efi.img".into());
        boot.hybrid_gpt = inputs.usb;
    }
    for layer in &inputs.layers {
        let file = layer.layer.join(crate::layers::LAYER_FILE)?;
        add(
            &mut tree,
            &format!("live/{}.squashfs", layer.name),
            FileSource::Path(file),
        )?;
    }
    for item in &inputs.contents {
        add_content(&mut tree, item)?;
    }

    let mut spec = IsoSpec::new(volume_id, tree, timestamp);
    spec.boot = boot;
    let dir = out.join("iso");
    std::fs::create_dir_all(&dir).map_err(BuilderError::io("create", &dir))?;
    let file = dir.join(&inputs.iso_name);
    iso::write_iso(&spec, &file)?;
    crate::set_mode(&file, 0o644)
}

/// isolinux's menu: a `LABEL` per entry, the first the `DEFAULT`; the menu shows on the screen
/// and on the serial port.
fn isolinux_cfg(title: &str, entries: &[BootEntry], timeout: Option<u32>) -> String {
    // isolinux counts in tenths of a second and reads 0 as "wait forever".
    let timeout = timeout.map_or(0, |t| (t * 10).max(1));
    let default = entries.first().map_or("", |e| e.name.as_str());
    let mut cfg = format!(
        "SERIAL 0 115200\nUI menu.c32\nPROMPT 0\nTIMEOUT {timeout}\nMENU TITLE {title}\nDEFAULT {default}\n"
    );
    for entry in entries {
        cfg.push_str(&format!(
            "\nLABEL {}\n  MENU LABEL {}\n  LINUX /boot/vmlinuz\n  APPEND initrd=/boot/initrd {}\n",
            entry.name, entry.label, entry.params
        ));
    }
    cfg
}

/// systemd-boot's settings: the timeout and the default entry (by its file name).
fn loader_conf(default: &BootEntry, timeout: Option<u32>) -> String {
    let timeout = timeout.map_or_else(|| "menu-force".to_string(), |t| t.to_string());
    format!("timeout {timeout}\ndefault kiln-{}.conf\n", default.name)
}

/// GRUB's menu for the signed chain: the same entries, the first the default, on the screen and
/// the serial port, booting the `kernel` and `initrd` paths; `source` names what made it. Labels and parameters are
/// single-quoted: GRUB would expand `$` and split on `;` in the kernel's command line otherwise.
pub(crate) fn grub_cfg(
    source: &str,
    entries: &[BootEntry],
    timeout: Option<u32>,
    (kernel, initrd): (&str, &str),
) -> String {
    let quote = |text: &str| format!("'{}'", text.replace('\'', "'\\''"));
    // GRUB waits for a choice with -1.
    let timeout = timeout.map_or_else(|| "-1".to_string(), |t| t.to_string());
    // The kernel gets GRUB's graphics mode. Left to itself this GRUB hands over an 800x600
    // mode of 24 bits per pixel, which Xorg cannot drive on the firmware's framebuffer (the
    // `nomodeset` entry): ask the firmware's GOP for a 32-bit mode, else keep what it has.
    let mut cfg = format!(
        "# Generated by kiln from {source}.\nserial --unit=0 --speed=115200\n\
         terminal_input console serial\nterminal_output console serial\n\
         insmod efi_gop\nset gfxpayload=1280x800x32,1024x768x32,keep\n\
         set default=0\nset timeout={timeout}\n"
    );
    for entry in entries {
        let params: Vec<String> = entry.params.split_whitespace().map(quote).collect();
        cfg.push_str(&format!(
            "\nmenuentry {} --id {} {{\n  linux {kernel} {}\n  initrd {initrd}\n}}\n",
            quote(&entry.label),
            entry.name,
            params.join(" ")
        ));
    }
    cfg
}

/// One systemd-boot entry (the Boot Loader Specification's type #1), sorted by its index.
fn systemd_boot_entry(index: usize, entry: &BootEntry) -> String {
    format!(
        "title {}\nsort-key kiln-{index:03}\nlinux /boot/vmlinuz\ninitrd /boot/initrd\noptions {}\n",
        entry.label, entry.params
    )
}

/// One `isoImage.contents` item: a file, or a directory's files, directories and symlinks
/// (symlinks are not followed; a path already on the medium wins).
fn add_content(tree: &mut IsoTree, item: &Content) -> Result<()> {
    let target = item.target.trim_start_matches('/');
    let source = item.source.path();
    let meta = std::fs::symlink_metadata(source).map_err(BuilderError::io("read", source))?;
    if meta.is_dir() {
        add_tree(tree, source, target)
    } else if meta.file_type().is_symlink() {
        let link = std::fs::read_link(source).map_err(BuilderError::io("read", source))?;
        Ok(tree.add_symlink(target, &link.to_string_lossy())?)
    } else {
        Ok(tree.add_file(target, 0o644, FileSource::Path(source.to_path_buf()))?)
    }
}

/// Adds the files, directories and symlinks under `root` at `at` (a path already there wins).
fn add_tree(tree: &mut IsoTree, root: &Path, at: &str) -> Result<()> {
    let read = std::fs::read_dir(root).map_err(BuilderError::io("list", root))?;
    let mut items: Vec<_> = read.filter_map(std::result::Result::ok).collect();
    items.sort_by_key(std::fs::DirEntry::file_name);
    for item in items {
        let name = item.file_name().to_string_lossy().into_owned();
        let dest = format!("{at}/{name}");
        let source = item.path();
        let kind = item
            .file_type()
            .map_err(BuilderError::io("read", &source))?;
        if kind.is_dir() {
            add_tree(tree, &source, &dest)?;
        } else if tree.get(&dest).is_some() {
            continue;
        } else if kind.is_symlink() {
            let target = std::fs::read_link(&source).map_err(BuilderError::io("read", &source))?;
            tree.add_symlink(&dest, &target.to_string_lossy())?;
        } else if kind.is_file() {
            tree.add_file(&dest, 0o644, FileSource::Path(source))?;
        }
    }
    Ok(())
}

/// Where each busybox applet belongs (`bin/ls`, `sbin/ip`, ...), as busybox itself says.
fn busybox_applets(busybox: &Path) -> Result<Vec<String>> {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn entries() -> Vec<BootEntry> {
        [
            ("default", "kiln", "root=LABEL=K console=tty0"),
            ("nomodeset", "kiln (nomodeset)", "root=LABEL=K nomodeset"),
        ]
        .into_iter()
        .map(|(name, label, params)| BootEntry {
            name: name.into(),
            label: label.into(),
            params: params.into(),
        })
        .collect()
    }

    #[test]
    fn isolinux_lists_every_entry_and_defaults_to_the_first() {
        let cfg = isolinux_cfg("kiln", &entries(), Some(10));
        assert!(cfg.contains("TIMEOUT 100\n"), "{cfg}");
        assert!(cfg.contains("DEFAULT default\n"), "{cfg}");
        let default = cfg.find("LABEL default\n").expect("default entry");
        let nomodeset = cfg.find("LABEL nomodeset\n").expect("nomodeset entry");
        assert!(default < nomodeset, "{cfg}");
        assert!(
            cfg.contains("  MENU LABEL kiln (nomodeset)\n  LINUX /boot/vmlinuz\n  APPEND initrd=/boot/initrd root=LABEL=K nomodeset\n"),
            "{cfg}"
        );
    }

    #[test]
    fn grub_lists_the_same_entries_with_their_words_quoted() {
        let mut entries = entries();
        entries[1].label = "kiln's (nomodeset)".into();
        entries[1].params = "root=LABEL=K x=$y;z".into();
        let cfg = grub_cfg(
            "isoImage.bootEntries",
            &entries,
            None,
            ("/boot/vmlinuz", "/boot/initrd"),
        );
        assert!(cfg.contains("set default=0\nset timeout=-1\n"), "{cfg}");
        assert!(cfg.contains("terminal_output console serial\n"), "{cfg}");
        let default = cfg
            .find("menuentry 'kiln' --id default {")
            .expect("default");
        let nomodeset = cfg
            .find("menuentry 'kiln'\\''s (nomodeset)' --id nomodeset {")
            .expect("nomodeset, its quote escaped");
        assert!(default < nomodeset, "{cfg}");
        assert!(
            cfg.contains("  linux /boot/vmlinuz 'root=LABEL=K' 'x=$y;z'\n  initrd /boot/initrd\n"),
            "{cfg}"
        );
        assert!(grub_cfg(
            "isoImage.bootEntries",
            &entries,
            Some(5),
            ("/boot/vmlinuz", "/boot/initrd")
        )
        .contains("set timeout=5\n"));
    }

    #[test]
    fn systemd_boot_entries_sort_in_menu_order() {
        let entries = entries();
        assert_eq!(
            loader_conf(&entries[0], None),
            "timeout menu-force\ndefault kiln-default.conf\n"
        );
        let texts: Vec<String> = entries
            .iter()
            .enumerate()
            .map(|(i, e)| systemd_boot_entry(i, e))
            .collect();
        let key = |text: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix("sort-key "))
                .expect("sort-key")
                .to_string()
        };
        // systemd-boot sorts by sort-key ascending: the menu's order.
        assert!(key(&texts[0]) < key(&texts[1]));
        assert!(texts[1].contains("options root=LABEL=K nomodeset\n"));
        assert!(texts[1].starts_with("title kiln (nomodeset)\n"));
    }
}
