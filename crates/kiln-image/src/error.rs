//! Errors of the image writers; one enum for the image phase (STYLE §3).
//!
//! The ISO variants are prefixed `Iso` so that the cpio half can add its own variants beside
//! them without name clashes. Every variant holds data; the wording lives in the attributes.

use std::path::PathBuf;

/// An error while laying out, writing or reading an image.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum ImageError {
    /// The volume ID is empty.
    #[error("ISO volume ID is empty")]
    #[diagnostic(
        code(kiln::image::iso_volume_id_empty),
        help("set `isoImage.volumeID`")
    )]
    IsoVolumeIdEmpty,

    /// The volume ID is longer than the 32 bytes of ECMA-119 8.4.6.
    #[error("ISO volume ID `{id}` is {len} characters long, the limit is 32")]
    #[diagnostic(
        code(kiln::image::iso_volume_id_too_long),
        help("ECMA-119 8.4.6 gives the volume identifier 32 bytes; shorten `isoImage.volumeID`")
    )]
    IsoVolumeIdTooLong { id: String, len: usize },

    /// The volume ID holds a character outside the allowed set.
    #[error("ISO volume ID `{id}` has an illegal character {ch:?} at position {index}")]
    #[diagnostic(
        code(kiln::image::iso_volume_id_illegal_char),
        help("allowed: A-Z a-z 0-9 _ and the a-characters space ! \" % & ' ( ) * + , - . / : ; < = > ?")
    )]
    IsoVolumeIdIllegalChar { id: String, ch: char, index: usize },

    /// A file name in the tree cannot be stored (empty, `.`/`..`, a `/` or NUL, or over 255 bytes).
    #[error("invalid name `{name}` in ISO tree at `{path}`")]
    #[diagnostic(code(kiln::image::iso_invalid_name))]
    IsoInvalidName { path: String, name: String },

    /// Two tree entries claim the same path, or a file sits where a directory is needed.
    #[error("ISO tree path `{path}` is already taken")]
    #[diagnostic(code(kiln::image::iso_path_conflict))]
    IsoPathConflict { path: String },

    /// A file is too large for a single extent (ECMA-119 9.1.4: data length is 32 bits).
    #[error("file `{path}` is {size} bytes, over the 4 GiB single-extent limit of ISO 9660")]
    #[diagnostic(
        code(kiln::image::iso_file_too_large),
        help("multi-extent files are not supported; split the file or put it in a squashfs")
    )]
    IsoFileTooLarge { path: String, size: u64 },

    /// A numeric on-disk field cannot hold the value.
    #[error("ISO field `{field}` cannot hold {value} (limit {limit})")]
    #[diagnostic(code(kiln::image::iso_field_overflow))]
    IsoFieldOverflow {
        field: &'static str,
        value: u64,
        limit: u64,
    },

    /// The timestamp cannot be expressed in a directory record (years 1900..=2155).
    #[error("timestamp {epoch} is outside what ISO 9660 can record (years 1900 to 2155)")]
    #[diagnostic(code(kiln::image::iso_timestamp_range))]
    IsoTimestampRange { epoch: i64 },

    /// `SOURCE_DATE_EPOCH` is set but is not an integer.
    #[error("SOURCE_DATE_EPOCH `{value}` is not an integer number of seconds")]
    #[diagnostic(code(kiln::image::iso_source_date_epoch))]
    IsoSourceDateEpoch { value: String },

    /// A symlink target or a name needs more Rock Ridge bytes than one continuation area holds.
    #[error(
        "Rock Ridge data for `{path}` is {len} bytes, more than one 2048-byte continuation area"
    )]
    #[diagnostic(code(kiln::image::iso_rock_ridge_too_long))]
    IsoRockRidgeTooLong { path: String, len: usize },

    /// A boot file named in the El Torito options is not a regular file of the tree.
    #[error("El Torito boot file `{path}` is not a regular file in the ISO tree")]
    #[diagnostic(code(kiln::image::iso_boot_file_missing))]
    IsoBootFileMissing { path: String },

    /// The BIOS boot image is too small to hold a boot info table.
    #[error("BIOS boot image `{path}` is {size} bytes; a boot info table needs at least 64")]
    #[diagnostic(code(kiln::image::iso_boot_image_too_small))]
    IsoBootImageTooSmall { path: String, size: u64 },

    /// The MBR template for isohybrid is not 432..=512 bytes.
    #[error("isohybrid MBR template is {size} bytes, expected 432 to 512")]
    #[diagnostic(code(kiln::image::iso_hybrid_mbr_size))]
    IsoHybridMbrSize { size: usize },

    /// A source file could not be read.
    #[error("cannot read ISO input `{path}`")]
    #[diagnostic(code(kiln::image::iso_read_source))]
    IsoReadSource {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// A source file changed size between layout and writing.
    #[error("ISO input `{path}` changed size while writing (planned {planned}, found {found})")]
    #[diagnostic(code(kiln::image::iso_source_changed))]
    IsoSourceChanged {
        path: PathBuf,
        planned: u64,
        found: u64,
    },

    /// Writing the image failed; nothing is left at the destination.
    #[error("cannot write ISO image `{path}`")]
    #[diagnostic(
        code(kiln::image::iso_write),
        help("is the disk full? the partial image was removed")
    )]
    IsoWrite {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// The reader found bytes that are not a valid image of the kind kiln writes.
    #[error("malformed ISO image: {what}")]
    #[diagnostic(code(kiln::image::iso_malformed))]
    IsoMalformed { what: String },

    /// An internal invariant broke; this is a kiln bug.
    #[error("internal error in the ISO writer: {what}")]
    #[diagnostic(code(kiln::bug), help("please report this as a kiln bug"))]
    IsoBug { what: String },
}

/// Shorthand used throughout the crate.
pub type Result<T, E = ImageError> = std::result::Result<T, E>;
