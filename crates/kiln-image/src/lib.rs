//! The bytes of a kiln image: the ISO 9660 writer (with Rock Ridge and El Torito) and, merged in
//! separately, the cpio initrd writer.
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

pub mod error;
// iso: the ISO 9660 writer and its test reader.
pub mod iso;
