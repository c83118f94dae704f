//! Assembling an initrd's contents from the module closure: the module files with their
//! `modules.*` index files, and the firmware files they name, as cpio [`Entry`]s the driver
//! adds to busybox and `/init` before calling [`crate::cpio::write_initrd`].

pub mod firmware;

use crate::cpio::{CpioPath, Entry};
use crate::kmod::{self, Closure, ModuleIndex};
use crate::ImageError;
use firmware::FirmwareLookup;

/// Entries for `lib/modules/<version>/`: every module of `closure` at its path in its tree, and
/// `modules.dep`, `modules.alias` and `modules.softdep` for them.
pub fn module_entries(
    index: &ModuleIndex,
    closure: &Closure,
    version: &str,
) -> Result<Vec<Entry>, ImageError> {
    if version.contains('/') {
        return Err(ImageError::InvalidCpioPath {
            path: version.to_owned(),
            reason: "a kernel version is one path component",
        });
    }
    let root = CpioPath::new(format!("lib/modules/{version}"))?;
    let mut res = Vec::new();
    for module in closure.iter(index) {
        res.push(Entry::file(
            root.join(&module.rel_path)?,
            0o644,
            &module.source,
        ));
    }
    let files = [
        ("modules.dep", kmod::modules_dep(index, closure)),
        ("modules.alias", kmod::modules_alias(index, closure)),
        ("modules.softdep", kmod::modules_softdep(index, closure)),
    ];
    for (name, text) in files {
        res.push(Entry::bytes(root.join(name)?, 0o644, text.into_bytes()));
    }
    Ok(res)
}

/// Entries for `lib/firmware/`: every file found by [`firmware::find_firmware`].
pub fn firmware_entries(lookup: &FirmwareLookup) -> Result<Vec<Entry>, ImageError> {
    let root = CpioPath::new("lib/firmware")?;
    lookup
        .found
        .iter()
        .map(|file| Ok(Entry::file(root.join(&file.dest)?, 0o644, &file.source)))
        .collect()
}
