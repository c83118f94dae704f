//! Image diagnostics. Every way writing an image can fail is one [`ImageError`] variant whose
//! code (`kiln::image::<name>`) is stable API; the wording may change.
//!
//! Errors hold data (paths, names, limits) and leave rendering to miette.
//! Variants are grouped by the module that raises them so that parallel work on the ISO writer
//! and on the initrd merges as two blocks.

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
