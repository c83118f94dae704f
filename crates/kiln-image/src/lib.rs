//! The bytes of a kiln image: the initrd (a deterministic cpio newc archive holding the kernel
//! module closure and its firmware), the live root (a squashfs image) and the ISO 9660 medium
//! (Rock Ridge, El Torito, isohybrid).
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
//! as a squashfs image (owners 0:0, one timestamp, zstd/xz/gzip) to a path atomically.
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

mod error;

pub use error::ImageError;

// initrd half (cpio, kmod, initrd); keep these lines together.
pub mod cpio;
pub mod initrd;
pub mod kmod;

// Live root: the squashfs image of the unpacked system tree.
pub mod squashfs;

// ISO half: the ISO 9660 writer and its test reader; keep these lines together.
pub mod iso;
