//! The `netboot` builder: what a PXE or iPXE server hands a machine (profiles'
//! `config.system.build.netboot`). Output: `$out/bzImage`, `$out/initrd` and
//! `$out/netboot.ipxe`, an iPXE script that boots the two by names relative to its own URL.
//!
//! For UEFI, Debian's signed chain, as Debian's own netboot tree has it: `$out/bootx64.efi` (the
//! Microsoft-signed shim, the file a DHCP server names for UEFI clients), `$out/grubx64.efi`
//! (Debian's signed network GRUB, `grubnetx64.efi.signed`, which the shim fetches from beside
//! itself over TFTP and verifies) and `$out/grub/grub.cfg` (where that GRUB looks, `/grub` on
//! the TFTP server): one menu entry booting `/bzImage` and `/initrd` from the server. The tree
//! is served from the TFTP root. Under Secure Boot every link is signed: shim by Microsoft,
//! GRUB and the kernel by Debian.
//!
//! With `squashfs = "initrd"` the initrd is the stage-1 initrd followed by an uncompressed newc
//! archive of `live/<layer>.squashfs`: the kernel unpacks concatenated archives in order, and
//! stage 1 finds the layers in `/live`. With `squashfs = "http"` the layers are in `$out/live/`
//! for a web server, and the command line's `kiln.live=URL` tells stage 1 where they are.

use crate::error::{BuilderError, Result};
use crate::image::Layer;
use kiln_image::cpio::{self, CpioOptions, CpioPath, Entry};
use kiln_store::inputs::{self, StorePath};
use kiln_store::{BuildError, Builder, Derivation, Events};
use serde::Deserialize;
use std::io::Write;
use std::path::{Path, PathBuf};

pub(crate) const NETBOOT: &str = "netboot";

/// Where the live root's layers travel.
#[derive(Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
enum Squashfs {
    Initrd,
    Http,
}

/// What the `netboot` builder reads.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct NetbootInputs {
    /// The kernel image file.
    kernel: StorePath,
    /// An `initrd` output (`initrd` inside).
    initrd: StorePath,
    squashfs: Squashfs,
    /// The whole kernel command line.
    params: String,
    /// The live root's layers, bottom first, as for the `iso` builder.
    #[serde(deserialize_with = "inputs::json")]
    layers: Vec<Layer>,
    /// shim-signed's package: the UEFI network boot program.
    shim: StorePath,
    /// grub-efi-amd64-signed's package: the network GRUB the shim starts.
    grub: StorePath,
    /// GRUB's menu entry: its label, and the seconds the menu waits (none: for a choice).
    label: String,
    timeout: Option<u32>,
    /// The time of the layers' cpio members.
    #[serde(rename = "SOURCE_DATE_EPOCH")]
    source_date_epoch: u32,
}

/// Debian's network GRUB (its built-in prefix is `/grub` on the server it was fetched from).
const GRUB_NET: &str = "usr/lib/grub/x86_64-efi-signed/grubnetx64.efi.signed";

impl NetbootInputs {
    fn validate(&self) -> Result<()> {
        if self.label.contains(['\n', '\r']) {
            return Err(BuilderError::invalid("`label` must be one line"));
        }
        if self.params.contains(['\n', '\r']) {
            return Err(BuilderError::invalid(
                "`params` (the kernel command line) must be one line",
            ));
        }
        if self.layers.is_empty() {
            return Err(BuilderError::invalid("`layers` is empty"));
        }
        crate::image::validate_layer_names(&self.layers)
    }
}

pub(crate) struct Netboot;

impl Builder for Netboot {
    fn check(&self, drv: &Derivation, inputs: &[PathBuf]) -> Result<(), BuildError> {
        let parsed: NetbootInputs = inputs::check(drv, inputs).map_err(BuildError::new)?;
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
        let inputs: NetbootInputs = inputs::parse(drv, inputs).map_err(BuildError::new)?;
        inputs.validate()?;
        Ok(build_netboot(&inputs, out)?)
    }
}

fn build_netboot(inputs: &NetbootInputs, out: &Path) -> Result<()> {
    let kernel = inputs.kernel.path();
    let initrd = inputs.initrd.join("initrd")?;
    std::fs::create_dir(out).map_err(BuilderError::io("create", out))?;
    copy(kernel, &out.join("bzImage"))?;
    let layers: Vec<(String, PathBuf)> = inputs
        .layers
        .iter()
        .map(|layer| {
            let file = layer.layer.join(crate::layers::LAYER_FILE)?;
            Ok((format!("{}.squashfs", layer.name), file))
        })
        .collect::<Result<_>>()?;
    match inputs.squashfs {
        Squashfs::Initrd => {
            let dest = out.join("initrd");
            copy(&initrd, &dest)?;
            append_layers(&dest, &layers, inputs.source_date_epoch)?;
        }
        Squashfs::Http => {
            copy(&initrd, &out.join("initrd"))?;
            let live = out.join("live");
            std::fs::create_dir(&live).map_err(BuilderError::io("create", &live))?;
            for (name, file) in &layers {
                copy(file, &live.join(name))?;
            }
        }
    }
    let script = ipxe_script(&inputs.params);
    write(&out.join("netboot.ipxe"), &script)?;

    copy(
        &inputs.shim.join(crate::image::SHIM)?,
        &out.join("bootx64.efi"),
    )?;
    copy(&inputs.grub.join(GRUB_NET)?, &out.join("grubx64.efi"))?;
    let grub = out.join("grub");
    std::fs::create_dir(&grub).map_err(BuilderError::io("create", &grub))?;
    let entry = crate::image::BootEntry {
        name: "netboot".into(),
        label: inputs.label.clone(),
        params: inputs.params.clone(),
    };
    let cfg = crate::image::grub_cfg(
        "config.system.build.netboot",
        &[entry],
        inputs.timeout,
        ("/bzImage", "/initrd"),
    );
    write(&grub.join("grub.cfg"), &cfg)
}

fn write(file: &Path, text: &str) -> Result<()> {
    std::fs::write(file, text).map_err(BuilderError::io("write", file))?;
    crate::set_mode(file, 0o644)
}

/// The iPXE script: relative names resolve against the script's own URL, so one output serves
/// from a TFTP root or a web server alike. `initrd=initrd` names the image for the kernel's
/// EFI stub (iPXE on UEFI); BIOS ignores it.
fn ipxe_script(params: &str) -> String {
    format!("#!ipxe\n# Generated by kiln (config.system.build.netboot).\nkernel bzImage initrd=initrd {params}\ninitrd initrd\nboot\n")
}

/// Appends an uncompressed newc archive of the layers (`live/NAME`) to the initrd at `dest`,
/// after zero padding to a 4-byte boundary, where the kernel looks for the next archive.
fn append_layers(dest: &Path, layers: &[(String, PathBuf)], mtime: u32) -> Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(dest)
        .map_err(BuilderError::io("open", dest))?;
    let len = file
        .metadata()
        .map_err(BuilderError::io("read the size of", dest))?
        .len();
    let padding = usize::try_from((4 - len % 4) % 4).unwrap_or(0);
    let mut writer = std::io::BufWriter::with_capacity(1 << 20, &mut file);
    writer
        .write_all(&[0u8; 3][..padding])
        .map_err(BuilderError::io("write", dest))?;
    let mut entries = vec![Entry::dir(CpioPath::new("live")?, 0o755)];
    for (name, file) in layers {
        entries.push(Entry::file(
            CpioPath::new(format!("live/{name}"))?,
            0o444,
            file,
        ));
    }
    cpio::write_newc(&mut writer, entries, &CpioOptions { mtime })?;
    writer.flush().map_err(BuilderError::io("write", dest))?;
    drop(writer);
    crate::set_mode(dest, 0o644)
}

/// A byte copy that leaves the destination writable until the store seals it.
fn copy(from: &Path, to: &Path) -> Result<()> {
    std::fs::copy(from, to).map_err(BuilderError::io("copy", from))?;
    crate::set_mode(to, 0o644)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_script_boots_the_files_beside_it() {
        assert_eq!(
            ipxe_script("root=LABEL=K console=ttyS0,115200"),
            "#!ipxe\n# Generated by kiln (config.system.build.netboot).\n\
             kernel bzImage initrd=initrd root=LABEL=K console=ttyS0,115200\ninitrd initrd\nboot\n"
        );
    }

    #[test]
    fn layers_follow_the_initrd_on_a_four_byte_boundary() {
        let dir = tempfile::tempdir().unwrap();
        let initrd = dir.path().join("initrd");
        std::fs::write(&initrd, b"12345").unwrap();
        let layer = dir.path().join("base.squashfs");
        std::fs::write(&layer, b"squash").unwrap();
        append_layers(&initrd, &[("base.squashfs".into(), layer)], 0).unwrap();
        let bytes = std::fs::read(&initrd).unwrap();
        assert_eq!(&bytes[..8], b"12345\0\0\0");
        assert_eq!(&bytes[8..14], b"070701");
        let text = String::from_utf8_lossy(&bytes);
        assert!(text.contains("live/base.squashfs\0"), "{text}");
        assert!(text.contains("squash"), "{text}");
        assert!(text.contains("TRAILER!!!"), "{text}");
    }
}
