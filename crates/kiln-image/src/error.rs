//! Image diagnostics. Every way writing an image can fail is one [`ImageError`] variant whose
//! code (`kiln::image::<name>`) is stable API; the wording may change.
//!
//! Errors hold data (paths, names, limits) and leave rendering to miette.
//! Variants are grouped by the module that raises them: cpio / initrd / kmod first, then the
//! squashfs writer (prefixed `Squashfs`), the ISO writer (prefixed `Iso`), then the ESP writer
//! (prefixed `Esp`).

use miette::Diagnostic;
use std::path::PathBuf;
use thiserror::Error;

/// Everything that can go wrong while building image bytes.
#[derive(Debug, Error, Diagnostic)]
pub enum ImageError {
    // ---- cpio / initrd / kmod ----
    /// Reading or writing a file failed (disk full, permission, vanished file).
    #[error("i/o error on `{}`", path.display())]
    #[diagnostic(code(kiln::image::io))]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// A path that cannot go into a cpio archive.
    #[error("invalid archive path `{path}`: {reason}")]
    #[diagnostic(
        code(kiln::image::invalid_cpio_path),
        help("archive paths are relative, use `/` separators, and contain no `..`, `.` or NUL")
    )]
    InvalidCpioPath { path: String, reason: &'static str },

    /// Two entries with the same archive path.
    #[error("duplicate archive path `{path}`")]
    #[diagnostic(code(kiln::image::duplicate_cpio_path))]
    DuplicateCpioPath { path: String },

    /// A number does not fit its on-disk field (newc fields are 32-bit).
    #[error("{field} of `{path}` is {value}, more than the format's limit of {limit}")]
    #[diagnostic(
        code(kiln::image::field_overflow),
        help("the cpio newc format stores sizes and numbers in 32 bits (files up to 4 GiB)")
    )]
    FieldOverflow {
        path: String,
        field: &'static str,
        value: u64,
        limit: u64,
    },

    /// A source file changed size while it was being archived.
    #[error("`{}` changed while being archived (expected {expected} bytes, read {actual})", path.display())]
    #[diagnostic(code(kiln::image::file_changed))]
    FileChanged {
        path: PathBuf,
        expected: u64,
        actual: u64,
    },

    /// `SOURCE_DATE_EPOCH` is set but is not a timestamp newc can store.
    #[error("SOURCE_DATE_EPOCH `{value}` is not a number of seconds between 0 and 4294967295")]
    #[diagnostic(code(kiln::image::bad_source_date_epoch))]
    BadSourceDateEpoch { value: String },

    /// `boot.initrd.compressor` names a compressor kiln does not implement.
    #[error("unsupported initrd compressor `{command}`")]
    #[diagnostic(
        code(kiln::image::unsupported_compressor),
        help(
            "kiln writes initrds with `zstd` (levels 1-22), `xz`, `gzip` or `cat` (uncompressed)"
        )
    )]
    UnsupportedCompressor { command: String },

    /// A malformed cpio archive (only the in-tree reader raises this).
    #[error("malformed cpio archive at byte {offset}: {reason}")]
    #[diagnostic(code(kiln::image::malformed_cpio))]
    MalformedCpio { offset: u64, reason: &'static str },

    /// A `.ko` file that is not an ELF object with a readable `.modinfo`.
    #[error("cannot read kernel module `{}`: {reason}", path.display())]
    #[diagnostic(code(kiln::image::bad_module))]
    BadModule { path: PathBuf, reason: String },

    /// Two module files define the same module name in one tree at the same priority.
    #[error("module `{name}` is defined twice: `{}` and `{}`", first.display(), second.display())]
    #[diagnostic(code(kiln::image::duplicate_module))]
    DuplicateModule {
        name: String,
        first: PathBuf,
        second: PathBuf,
    },

    /// A requested module (or alias) that no module tree provides.
    #[error("kernel module `{name}` not found{}", suggestion_text(suggestions))]
    #[diagnostic(
        code(kiln::image::unknown_module),
        help("module names come from `boot.initrd.kernelModules`, `boot.initrd.availableKernelModules` and `boot.extraModulePackages`")
    )]
    UnknownModule {
        name: String,
        suggestions: Vec<String>,
    },

    /// A module's `depends=` names a module that no tree provides.
    #[error("kernel module `{module}` depends on `{dependency}`, which no module tree provides")]
    #[diagnostic(code(kiln::image::missing_dependency))]
    MissingDependency { module: String, dependency: String },

    /// `depends=` edges form a cycle; the kernel could not load these modules either.
    #[error("kernel modules depend on each other in a cycle: {}", cycle.join(" -> "))]
    #[diagnostic(code(kiln::image::module_cycle))]
    ModuleCycle { cycle: Vec<String> },
    // ---- end cpio / initrd / kmod ----

    // ---- squashfs ----
    /// The squashfs compressor named in the configuration is not one kiln writes.
    #[error("unsupported squashfs compression `{name}`")]
    #[diagnostic(
        code(kiln::image::squashfs_unsupported_compression),
        help("kiln writes squashfs images with `zstd`, `xz` or `gzip`")
    )]
    SquashfsUnsupportedCompression { name: String },

    /// The timestamp does not fit squashfs's unsigned 32-bit times.
    #[error("timestamp {timestamp} is outside what squashfs can record (0 to 4294967295)")]
    #[diagnostic(
        code(kiln::image::squashfs_timestamp_range),
        help("set SOURCE_DATE_EPOCH to a time between 1970 and 2106")
    )]
    SquashfsTimestampRange { timestamp: i64 },

    /// The root of the tree is missing or is not a directory.
    #[error("squashfs root `{}` is not a directory", path.display())]
    #[diagnostic(
        code(kiln::image::squashfs_root_not_dir),
        help("the live root must be a directory tree")
    )]
    SquashfsRootNotDir { path: PathBuf },

    /// backhand records only the ids of the inodes it is given, and the root directory is not
    /// one of them: an owner no other inode has cannot be written for it.
    #[error("the root directory's owner {uid}:{gid} belongs to no other inode of the image, and the squashfs writer cannot record it")]
    #[diagnostic(
        code(kiln::image::squashfs_root_owner),
        help("give the root directory to root (0:0), or to an owner another inode has")
    )]
    SquashfsRootOwner { uid: u32, gid: u32 },

    /// A fifo, socket or device node in the tree.
    #[error("`{}` is a {kind}, which kiln does not put in a squashfs image", path.display())]
    #[diagnostic(
        code(kiln::image::squashfs_unsupported_file_type),
        help("only directories, regular files and symlinks are supported; remove it from the tree (device nodes come from devtmpfs at boot)")
    )]
    SquashfsUnsupportedFileType { path: PathBuf, kind: &'static str },

    /// A file or directory of the tree could not be read.
    #[error("cannot read squashfs input `{}`", path.display())]
    #[diagnostic(
        code(kiln::image::squashfs_read_source),
        help("check that the tree exists and is readable by the user running kiln")
    )]
    SquashfsReadSource {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// Writing the image failed; nothing is left at the destination.
    #[error("cannot write squashfs image `{}`", path.display())]
    #[diagnostic(
        code(kiln::image::squashfs_write),
        help("is the disk full? the partial image was removed")
    )]
    SquashfsWrite {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// The squashfs library refused an entry or the image (a name it cannot store, a size over
    /// a format limit).
    #[error("cannot build squashfs image at `{}`: {what}", path.display())]
    #[diagnostic(
        code(kiln::image::squashfs_library),
        help("the path names the entry or image the squashfs writer refused")
    )]
    SquashfsLibrary { path: PathBuf, what: String },
    // ---- end squashfs ----

    // ---- iso ----
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
    // ---- end iso ----

    // ---- esp ----
    /// A path that cannot name a file on a FAT volume.
    #[error("invalid ESP path `{path}`: {reason}")]
    #[diagnostic(
        code(kiln::image::esp_invalid_path),
        help("ESP paths are relative and `/`-separated; each name is a FAT long name of at most 255 bytes, without control characters, `\" * : < > ? \\ |`, characters beyond U+FFFF, or a trailing dot or space")
    )]
    EspInvalidPath { path: String, reason: &'static str },

    /// Two ESP paths name the same FAT entry, or a file sits where a directory is needed.
    #[error("ESP path `{path}` clashes with `{other}`")]
    #[diagnostic(
        code(kiln::image::esp_path_conflict),
        help("FAT names are case-insensitive (`EFI/BOOT` and `efi/boot` are one directory), and a name is either a file or a directory")
    )]
    EspPathConflict { path: String, other: String },

    /// A file too large for FAT's 32-bit size field.
    #[error("ESP file `{path}` is {size} bytes, over the FAT limit of 4 GiB - 1")]
    #[diagnostic(
        code(kiln::image::esp_file_too_large),
        help("FAT records a file's size in 32 bits (DIR_FileSize); keep large files (a squashfs) on the ISO 9660 side and only the loader, kernel and initrd on the ESP")
    )]
    EspFileTooLarge { path: String, size: u64 },

    /// The contents need a volume larger than kiln writes.
    #[error("ESP contents need about {needed} bytes, more than a FAT32 volume of 2^32 sectors")]
    #[diagnostic(
        code(kiln::image::esp_too_large),
        help("the ESP only needs the boot loader, kernels and initrds")
    )]
    EspTooLarge { needed: u64 },

    /// A volume label that the boot sector cannot hold.
    #[error("invalid ESP volume label `{label}`: {reason}")]
    #[diagnostic(
        code(kiln::image::esp_invalid_label),
        help("a FAT label is at most 11 characters: A-Z, 0-9, space and ! # $ % & ' ( ) - @ ^ _ ` {{ }} ~")
    )]
    EspInvalidLabel { label: String, reason: &'static str },

    /// A source file could not be read.
    #[error("cannot read ESP input `{}`", path.display())]
    #[diagnostic(code(kiln::image::esp_read_source))]
    EspReadSource {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// A source file changed size between sizing the volume and copying it.
    #[error("ESP input `{}` changed size while writing (planned {planned}, found {found})", path.display())]
    #[diagnostic(code(kiln::image::esp_source_changed))]
    EspSourceChanged {
        path: PathBuf,
        planned: u64,
        found: u64,
    },

    /// Creating, sizing, syncing or renaming the image file failed; nothing is left at the
    /// destination.
    #[error("cannot write ESP image `{}`", path.display())]
    #[diagnostic(
        code(kiln::image::esp_write),
        help("is the disk full? the partial image was removed")
    )]
    EspWrite {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// The FAT library failed while formatting the volume or adding an entry.
    #[error("cannot write `{entry}` into ESP image `{}`", image.display())]
    #[diagnostic(
        code(kiln::image::esp_fat),
        help("the disk holding the image may be full; if not, the volume was sized too small, which is a kiln bug worth reporting")
    )]
    EspFat {
        image: PathBuf,
        entry: String,
        #[source]
        source: std::io::Error,
    },

    /// An internal invariant of the ESP writer broke; this is a kiln bug.
    #[error("internal error in the ESP writer: {what}")]
    #[diagnostic(code(kiln::bug), help("please report this as a kiln bug"))]
    EspBug { what: String },
}

fn suggestion_text(suggestions: &[String]) -> String {
    if suggestions.is_empty() {
        String::new()
    } else {
        format!(
            " (did you mean {}?)",
            suggestions
                .iter()
                .map(|s| format!("`{s}`"))
                .collect::<Vec<_>>()
                .join(", ")
        )
    }
}

impl ImageError {
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> ImageError {
        let path = path.into();
        move |source| ImageError::Io { path, source }
    }
}

/// Shorthand used throughout the crate.
pub(crate) type Result<T, E = ImageError> = std::result::Result<T, E>;
