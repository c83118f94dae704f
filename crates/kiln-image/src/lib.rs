//! The bytes of a kiln image: the initrd (a deterministic cpio newc archive holding the kernel
//! module closure and its firmware), the live root (a squashfs image) and the ISO 9660 medium
//! (Rock Ridge, El Torito, isohybrid) with its FAT EFI System Partition image.
//!
//! The initrd half:
//! - [`cpio`] writes (and, for tests, reads) newc archives, compressed with zstd, xz or gzip;
//! - [`kmod`] indexes kernel module trees by `.modinfo`, resolves a closure in load order and
//!   writes `modules.dep` / `modules.alias`;
//! - [`initrd`] finds the firmware files the modules ask for.
//!
//! ```
//! use kiln_image::cpio::{self, CpioPath, Entry};
//! let entries = vec![
//!     Entry::dir(CpioPath::new("etc").unwrap(), 0o755),
//!     Entry::bytes(CpioPath::new("etc/hostname").unwrap(), 0o644, b"kiln\n".to_vec()),
//! ];
//! let mut out = Vec::new();
//! cpio::write_newc(&mut out, entries, &cpio::CpioOptions::default()).unwrap();
//! let back = cpio::read::read_newc(&out).unwrap();
//! assert_eq!(back[1].path, "etc/hostname");
//! ```
//!
//! The live root is one function too, [`squashfs::write_squashfs`], which writes a directory tree
//! as a squashfs image (owners root's, the tree's or a table's, one timestamp, zstd/xz/gzip) to a path atomically.
//!
//! The ISO half is one function, [`iso::write_iso`], which takes an [`iso::IsoSpec`] and writes the
//! whole image to a path atomically (temp file, then rename):
//!
//! ```
//! use kiln_image::iso::{FileSource, IsoSpec, IsoTree, VolumeId, write_iso};
//! let mut tree = IsoTree::new();
//! tree.add_file("boot/hello.txt", 0o644, FileSource::Bytes(b"hi\n".to_vec().into())).unwrap();
//! let spec = IsoSpec::new(VolumeId::new("KILN_DOC").unwrap(), tree, 0);
//! let dir = tempfile::tempdir().unwrap();
//! write_iso(&spec, &dir.path().join("doc.iso")).unwrap();
//! ```
//!
//! The UEFI boot entry points at an EFI System Partition image, a FAT volume written by
//! [`esp::write_esp`] (or [`esp::write_esp_to_vec`] for a small one kept in memory):
//!
//! ```
//! use kiln_image::esp::{write_esp_to_vec, EspSpec};
//! use kiln_image::iso::{FileSource, IsoSpec, IsoTree, VolumeId, write_iso};
//! let mut esp = EspSpec::new("KILN", 0);
//! esp.add_file("EFI/BOOT/BOOTX64.EFI", FileSource::Bytes(b"MZ...".to_vec().into()));
//! let mut tree = IsoTree::new();
//! tree.add_file("boot/efi.img", 0o644, FileSource::Bytes(write_esp_to_vec(&esp).unwrap().into()))
//!     .unwrap();
//! let mut spec = IsoSpec::new(VolumeId::new("KILN_DOC").unwrap(), tree, 0);
//! spec.boot.efi_image = Some("boot/efi.img".into());
//! let dir = tempfile::tempdir().unwrap();
//! write_iso(&spec, &dir.path().join("uefi.iso")).unwrap();
//! ```

mod error;

pub use error::ImageError;

// initrd half (cpio, kmod, initrd); keep these lines together.
pub mod cpio;
pub mod initrd;
pub mod kmod;

// Live root: the squashfs image of the unpacked system tree.
pub mod squashfs;

// ISO half: the ISO 9660 writer and its test reader, and the FAT EFI System Partition image its
// UEFI boot entry points at; keep these lines together.
pub mod esp;
pub mod iso;
