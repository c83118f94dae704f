//! The bytes of a kiln image: the initrd (a deterministic cpio newc archive holding the kernel
//! module closure and its firmware) and the ISO 9660 medium.
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

mod error;

pub use error::ImageError;

// initrd half (cpio, kmod, initrd); keep these lines together.
pub mod cpio;
pub mod initrd;
pub mod kmod;
