//! Kernel modules for the initrd: index module trees by the `.modinfo` of each `.ko`, resolve
//! the closure of the requested modules in load order, and write the `modules.dep` /
//! `modules.alias` / `modules.softdep` files that busybox and kmod `modprobe` read.
//!
//! Debian bookworm's kernel packages ship no `modules.dep` (depmod runs in `postinst`), so the
//! dependency graph is read from the modules themselves, as depmod does.

pub mod closure;
pub mod depfile;
pub mod index;
pub mod modinfo;
mod pattern;

pub use closure::{resolve, Closure};
pub use depfile::{modules_alias, modules_dep, modules_softdep};
pub use index::{index_modules, open_index, Module, ModuleIndex, ModuleTree, INDEX_FILE};
pub use modinfo::ModInfo;
pub(crate) use pattern::fnmatch;

/// Module names treat `-` and `_` alike; the kernel stores `_` (`scripts/Makefile.lib`).
pub fn normalize_name(name: &str) -> String {
    name.replace('-', "_")
}
