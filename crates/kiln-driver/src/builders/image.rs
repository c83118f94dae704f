//! The image builders: `initrd` (busybox, module closure, firmware, `/init`) and `iso` (the
//! bootable medium: isolinux for BIOS, a FAT ESP with systemd-boot for UEFI, isohybrid).

use super::{env, env_bool, env_list};
use kiln_image::cpio::{self, Compressor, CpioOptions, CpioPath, Entry};
use kiln_image::iso::{self, FileSource, IsoSpec, IsoTree, VolumeId};
use kiln_image::kmod;
use kiln_image::{initrd, ImageError};
use kiln_store::{Builder, Derivation, Events};
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub(crate) const INITRD: &str = "initrd";
pub(crate) const ISO: &str = "iso";

fn image_error(err: ImageError) -> String {
    use miette::Diagnostic;
    match err.help() {
        Some(help) => format!("{err} ({help})"),
        None => err.to_string(),
    }
}

fn path(p: &str) -> Result<CpioPath, String> {
    CpioPath::new(p).map_err(image_error)
}

/// `initrd`: env `modDirVersion`, `modulesTree` (a package with `lib/modules/<version>`, normally
/// an `aggregate-modules` output, whose index it reads), `modules` (names or aliases; their
/// closure is included), `firmware` (packages with `lib/firmware`), `busybox` (busybox-static),
/// `init`, `compressor`. Output: `$out/initrd`.
pub(crate) struct Initrd;

impl Builder for Initrd {
    fn build(
        &self,
        drv: &Derivation,
        _: &[PathBuf],
        out: &Path,
        events: &dyn Events,
    ) -> Result<(), String> {
        let version = env(drv, "modDirVersion")?;
        let root = Path::new(env(drv, "modulesTree")?)
            .join("lib/modules")
            .join(version);
        if !root.is_dir() {
            return Err(format!("`modulesTree` has no lib/modules/{version}"));
        }
        let index = kmod::open_index(&root).map_err(image_error)?;
        let closure = kmod::resolve(&index, &env_list(drv, "modules")).map_err(image_error)?;
        let mut entries = initrd::module_entries(&index, &closure, version).map_err(image_error)?;
        // So /init can tell a built-in module (nothing to load) from a missing one.
        let builtin = root.join("modules.builtin");
        if builtin.is_file() {
            entries.push(Entry::file(
                path(&format!("lib/modules/{version}/modules.builtin"))?,
                0o644,
                builtin,
            ));
        }

        let firmware_trees: Vec<PathBuf> = env_list(drv, "firmware")
            .into_iter()
            .map(|p| Path::new(p).join("lib/firmware"))
            .collect();
        let lookup = initrd::firmware::find_firmware(&closure.firmware, &firmware_trees)
            .map_err(image_error)?;
        if !lookup.missing.is_empty() {
            events.message(
                drv,
                &format!(
                    "warning: firmware named by the initrd's modules is in no hardware.firmware package: {}",
                    lookup.missing.join(", ")
                ),
            );
        }
        entries.extend(initrd::firmware_entries(&lookup).map_err(image_error)?);

        let busybox = Path::new(env(drv, "busybox")?).join("bin/busybox");
        entries.extend(busybox_entries(&busybox)?);
        entries.push(Entry::bytes(
            path("init")?,
            0o755,
            env(drv, "init")?.as_bytes().to_vec(),
        ));
        entries.push(Entry::bytes(
            path("etc/passwd")?,
            0o644,
            b"root:x:0:0:root:/root:/bin/sh\n".to_vec(),
        ));
        entries.push(Entry::bytes(
            path("etc/group")?,
            0o644,
            b"root:x:0:\n".to_vec(),
        ));
        entries.push(Entry::bytes(
            path("etc/profile")?,
            0o644,
            b"export PATH=/bin:/sbin:/usr/bin:/usr/sbin\nexport PS1='[\\u@\\h:\\w]# '\n".to_vec(),
        ));
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
        let compressor =
            Compressor::from_config(env(drv, "compressor")?, &[]).map_err(image_error)?;
        let options = CpioOptions::from_env().map_err(image_error)?;
        std::fs::create_dir(out).map_err(|e| format!("{}: {e}", out.display()))?;
        let file = out.join("initrd");
        cpio::write_initrd(&file, dedup(entries), &options, compressor).map_err(image_error)?;
        readable(&file)
    }
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
fn busybox_entries(busybox: &Path) -> Result<Vec<Entry>, String> {
    let output = std::process::Command::new(busybox)
        .arg("--list-full")
        .output()
        .map_err(|e| format!("running {} --list-full: {e}", busybox.display()))?;
    if !output.status.success() {
        return Err(format!("{} --list-full failed", busybox.display()));
    }
    let mut entries = vec![Entry::file(path("bin/busybox")?, 0o755, busybox)];
    for applet in String::from_utf8_lossy(&output.stdout).lines() {
        let applet = applet.trim().trim_start_matches('/');
        if applet.is_empty() || applet == "bin/busybox" {
            continue;
        }
        entries.push(Entry::symlink(path(applet)?, "/bin/busybox"));
    }
    Ok(entries)
}

/// `iso`: env `isoName`, `volumeID`, `kernel` + `kernelFile`, `initrd`, `bios`/`efi`/`usb`
/// (Booleans), `isolinux` + `syslinux` (packages, for BIOS), `systemdBoot` (package, for
/// UEFI), `menuLabel`, `kernelParams`, `timeout` (seconds, empty: wait), `squashfs` (the
/// live root, put at `/live/root.squashfs`), `contents` (JSON list of `{ source; target; }`).
/// Output: `$out/iso/<isoName>`.
pub(crate) struct Iso;

const ISOLINUX_BIN: &str = "usr/lib/ISOLINUX/isolinux.bin";
const ISOHDPFX_BIN: &str = "usr/lib/ISOLINUX/isohdpfx.bin";
const SYSLINUX_BIOS: &str = "usr/lib/syslinux/modules/bios";
const SYSTEMD_BOOT: &str = "usr/lib/systemd/boot/efi/systemd-bootx64.efi";

impl Builder for Iso {
    fn build(
        &self,
        drv: &Derivation,
        _: &[PathBuf],
        out: &Path,
        _: &dyn Events,
    ) -> Result<(), String> {
        let volume_id = VolumeId::new(env(drv, "volumeID")?).map_err(image_error)?;
        let iso_name = env(drv, "isoName")?;
        if iso_name.contains('/') || iso_name.is_empty() {
            return Err(format!("isoImage.isoName `{iso_name}` must be a file name"));
        }
        let kernel = Path::new(env(drv, "kernel")?).join(env(drv, "kernelFile")?);
        let initrd = Path::new(env(drv, "initrd")?).join("initrd");
        for file in [&kernel, &initrd] {
            if !file.is_file() {
                return Err(format!("{} does not exist", file.display()));
            }
        }
        let params = env(drv, "kernelParams")?;
        let label = env(drv, "menuLabel")?;
        let timeout: Option<u32> = env(drv, "timeout")?.parse().ok();
        let timestamp = iso::source_date_epoch().map_err(image_error)?;

        let mut tree = IsoTree::new();
        let add = |tree: &mut IsoTree, at: &str, source: FileSource| {
            tree.add_file(at, 0o644, source).map_err(image_error)
        };
        add(&mut tree, "boot/vmlinuz", FileSource::Path(kernel.clone()))?;
        add(&mut tree, "boot/initrd", FileSource::Path(initrd.clone()))?;

        let bios = env_bool(drv, "bios");
        let efi = env_bool(drv, "efi");
        let usb = env_bool(drv, "usb");
        if !bios && !efi {
            return Err("the ISO boots neither with BIOS nor with UEFI".into());
        }
        let mut boot = iso::BootOptions {
            catalog_path: Some("boot/boot.cat".into()),
            ..iso::BootOptions::default()
        };
        if bios {
            let isolinux = Path::new(env(drv, "isolinux")?);
            let syslinux = Path::new(env(drv, "syslinux")?).join(SYSLINUX_BIOS);
            add(
                &mut tree,
                "isolinux/isolinux.bin",
                FileSource::Path(isolinux.join(ISOLINUX_BIN)),
            )?;
            for module in ["ldlinux.c32", "menu.c32", "libutil.c32"] {
                add(
                    &mut tree,
                    &format!("isolinux/{module}"),
                    FileSource::Path(syslinux.join(module)),
                )?;
            }
            let cfg = isolinux_cfg(label, params, timeout);
            add(
                &mut tree,
                "isolinux/isolinux.cfg",
                FileSource::Bytes(cfg.into_bytes().into()),
            )?;
            boot.bios_image = Some("isolinux/isolinux.bin".into());
            if usb {
                let mbr = std::fs::read(isolinux.join(ISOHDPFX_BIN))
                    .map_err(|e| format!("{}: {e}", isolinux.join(ISOHDPFX_BIN).display()))?;
                boot.hybrid_mbr = Some(Arc::from(mbr));
            }
        } else if usb {
            // A UEFI-only stick still needs a protective MBR; zeros carry no boot code.
            boot.hybrid_mbr = Some(Arc::from(vec![0u8; 432]));
        }
        if efi {
            let loader = Path::new(env(drv, "systemdBoot")?).join(SYSTEMD_BOOT);
            let files = vec![
                ("EFI/BOOT/BOOTX64.EFI".to_string(), FileSource::Path(loader)),
                ("boot/vmlinuz".to_string(), FileSource::Path(kernel.clone())),
                ("boot/initrd".to_string(), FileSource::Path(initrd.clone())),
                (
                    "loader/loader.conf".to_string(),
                    FileSource::Bytes(loader_conf(timeout).into_bytes().into()),
                ),
                (
                    "loader/entries/kiln.conf".to_string(),
                    FileSource::Bytes(format!("title {label}\nlinux /boot/vmlinuz\ninitrd /boot/initrd\noptions {params}\n").into_bytes().into()),
                ),
            ];
            let mut spec = kiln_image::esp::EspSpec::new("EFIBOOT", timestamp);
            spec.files = files;
            // Built in memory and written once, as part of the ISO: `fatfs` updates the FAT
            // with small reads and writes per cluster, which cost a system call each on a file.
            let esp = kiln_image::esp::write_esp_to_vec(&spec).map_err(image_error)?;
            add(&mut tree, "boot/efi.img", FileSource::Bytes(esp.into()))?;
            boot.efi_image = Some("boot/efi.img".into());
            boot.hybrid_gpt = usb;
        }
        let squashfs = Path::new(env(drv, "squashfs")?).join("root.squashfs");
        add(&mut tree, "live/root.squashfs", FileSource::Path(squashfs))?;
        add_contents(&mut tree, env(drv, "contents").unwrap_or("[]"))?;

        let mut spec = IsoSpec::new(volume_id, tree, timestamp);
        spec.boot = boot;
        let dir = out.join("iso");
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let file = dir.join(iso_name);
        iso::write_iso(&spec, &file).map_err(image_error)?;
        readable(&file)
    }
}

/// Outputs are for everyone to read (the writers create private temporary files).
fn readable(file: &Path) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o644))
        .map_err(|e| format!("{}: {e}", file.display()))
}

fn isolinux_cfg(label: &str, params: &str, timeout: Option<u32>) -> String {
    // isolinux counts in tenths of a second and reads 0 as "wait forever".
    let timeout = timeout.map_or(0, |t| (t * 10).max(1));
    format!(
        "SERIAL 0 115200\nUI menu.c32\nPROMPT 0\nTIMEOUT {timeout}\nMENU TITLE {label}\nDEFAULT kiln\n\nLABEL kiln\n  MENU LABEL {label}\n  LINUX /boot/vmlinuz\n  APPEND initrd=/boot/initrd {params}\n"
    )
}

fn loader_conf(timeout: Option<u32>) -> String {
    let timeout = timeout.map_or_else(|| "menu-force".to_string(), |t| t.to_string());
    format!("timeout {timeout}\ndefault kiln.conf\n")
}

/// Adds the files, directories and symlinks under `root` at `at` (a path already there wins).
fn add_tree(tree: &mut IsoTree, root: &Path, at: &str) -> Result<(), String> {
    let Ok(read) = std::fs::read_dir(root) else {
        return Ok(());
    };
    let mut items: Vec<_> = read.filter_map(Result::ok).collect();
    items.sort_by_key(std::fs::DirEntry::file_name);
    for item in items {
        let name = item.file_name().to_string_lossy().into_owned();
        let dest = format!("{at}/{name}");
        let source = item.path();
        let kind = item
            .file_type()
            .map_err(|e| format!("{}: {e}", source.display()))?;
        if kind.is_dir() {
            add_tree(tree, &source, &dest)?;
        } else if tree.get(&dest).is_some() {
            continue;
        } else if kind.is_symlink() {
            let target =
                std::fs::read_link(&source).map_err(|e| format!("{}: {e}", source.display()))?;
            tree.add_symlink(&dest, &target.to_string_lossy())
                .map_err(image_error)?;
        } else if kind.is_file() {
            tree.add_file(&dest, 0o644, FileSource::Path(source))
                .map_err(image_error)?;
        }
    }
    Ok(())
}

/// `isoImage.contents`: `[{ "source": …, "target": … }]`.
fn add_contents(tree: &mut IsoTree, json: &str) -> Result<(), String> {
    let items: Vec<serde_json::Value> =
        serde_json::from_str(json).map_err(|e| format!("isoImage.contents: {e}"))?;
    for item in items {
        let (Some(source), Some(target)) = (item["source"].as_str(), item["target"].as_str())
        else {
            return Err(format!(
                "isoImage.contents: {item} has no `source` and `target` strings"
            ));
        };
        let target = target.trim_start_matches('/');
        let source = Path::new(source);
        if source.is_dir() {
            add_tree(tree, source, target)?;
        } else {
            tree.add_file(target, 0o644, FileSource::Path(source.to_path_buf()))
                .map_err(image_error)?;
        }
    }
    Ok(())
}
