//! `aggregate-modules`: one `lib/modules/<version>` tree from the kernel's and those of
//! `boot.extraModulePackages`, as NixOS's `aggregateModules`, with what depmod would write
//! (`modules.dep`, `.alias`, `.softdep`) and kiln's [`kmod::INDEX_FILE`].
//!
//! Reading the `.modinfo` of a kernel's 4 000 modules takes about 0.1 s; done here once per
//! kernel and module set, the initrd and rootfs steps that use the tree read one index file.

use super::{env, env_list, io, link_or_copy};
use kiln_image::kmod::{self, ModuleTree};
use kiln_store::{Builder, Derivation, Events};
use std::path::{Path, PathBuf};

pub(crate) const AGGREGATE_MODULES: &str = "aggregate-modules";

/// Files depmod writes (`depmod(8)`) and kiln's index: never taken from an input tree, where
/// they would describe that tree alone.
const GENERATED: &[&str] = &[
    "modules.dep",
    "modules.dep.bin",
    "modules.alias",
    "modules.alias.bin",
    "modules.softdep",
    "modules.symbols",
    "modules.symbols.bin",
    "modules.devname",
    "modules.builtin.bin",
    "modules.builtin.alias.bin",
    kmod::INDEX_FILE,
];

/// env `modDirVersion`, `moduleTrees` (packages with `lib/modules/<version>`, in precedence
/// order: a later tree's module replaces an earlier one of the same name). Output:
/// `$out/lib/modules/<version>/` with the winning modules (hard links into the inputs), the
/// first tree's other top-level files (`modules.builtin`, `modules.order`, …) and the indexes.
pub(crate) struct AggregateModules;

impl Builder for AggregateModules {
    fn build(
        &self,
        drv: &Derivation,
        _: &[PathBuf],
        out: &Path,
        _: &dyn Events,
    ) -> Result<(), String> {
        let version = env(drv, "modDirVersion")?;
        if version.is_empty() || version.contains('/') || version == ".." {
            return Err(format!(
                "`modDirVersion` `{version}` is not one path component"
            ));
        }
        let trees: Vec<ModuleTree> = env_list(drv, "moduleTrees")
            .into_iter()
            .map(|p| ModuleTree {
                root: Path::new(p).join("lib/modules").join(version),
            })
            .filter(|t| t.root.is_dir())
            .collect();
        if trees.is_empty() {
            return Err(format!("no module tree has lib/modules/{version}"));
        }
        let index = kmod::index_modules(&trees).map_err(|e| e.to_string())?;
        let root = out.join("lib/modules").join(version);
        std::fs::create_dir_all(&root).map_err(|e| io(&root, e))?;
        for module in index.modules.values() {
            let to = root.join(&module.rel_path);
            if let Some(parent) = to.parent() {
                std::fs::create_dir_all(parent).map_err(|e| io(parent, e))?;
            }
            link_or_copy(&module.source, &to)?;
        }
        for tree in &trees {
            let entries = std::fs::read_dir(&tree.root).map_err(|e| io(&tree.root, e))?;
            let mut files: Vec<_> = entries.filter_map(Result::ok).collect();
            files.sort_by_key(std::fs::DirEntry::file_name);
            for entry in files {
                let name = entry.file_name();
                let to = root.join(&name);
                let is_file = entry.file_type().is_ok_and(|t| t.is_file());
                if !is_file
                    || GENERATED.iter().any(|g| name == *g)
                    || std::fs::symlink_metadata(&to).is_ok()
                {
                    continue;
                }
                link_or_copy(&entry.path(), &to)?;
            }
        }
        let names: Vec<&String> = index.modules.keys().collect();
        let closure = kmod::resolve(&index, &names).map_err(|e| e.to_string())?;
        for (name, bytes) in [
            (
                "modules.dep",
                kmod::modules_dep(&index, &closure).into_bytes(),
            ),
            (
                "modules.alias",
                kmod::modules_alias(&index, &closure).into_bytes(),
            ),
            (
                "modules.softdep",
                kmod::modules_softdep(&index, &closure).into_bytes(),
            ),
            (kmod::INDEX_FILE, index.encode()),
        ] {
            let path = root.join(name);
            std::fs::write(&path, bytes).map_err(|e| io(&path, e))?;
        }
        Ok(())
    }
}
