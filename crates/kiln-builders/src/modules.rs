//! `aggregate-modules`: one `lib/modules/<version>` tree from the kernel's and those of
//! `boot.extraModulePackages`, as NixOS's `aggregateModules`, with what depmod would write
//! (`modules.dep`, `.alias`, `.softdep`) and kiln's [`kmod::INDEX_FILE`].
//!
//! Reading the `.modinfo` of a kernel's 4 000 modules takes about 0.1 s; done here once per
//! kernel and module set, the initrd and rootfs steps that use the tree read one index file.

use crate::error::{BuilderError, Result};
use crate::link_or_copy;
use kiln_image::kmod::{self, ModuleTree};
use kiln_store::inputs::{self, StorePath};
use kiln_store::{BuildError, Builder, Derivation, Events};
use serde::Deserialize;
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

/// The module packages' `/etc/modprobe.d/*.conf` (blacklists, options), gathered so that the
/// initrd and the live root take them with the module tree; a later package's file of the same
/// name wins, as its modules do.
fn merge_modprobe_config(trees: &[StorePath], out: &Path) -> Result<()> {
    let dest = out.join("etc/modprobe.d");
    for tree in trees {
        let dir = tree.join("etc/modprobe.d")?;
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut files: Vec<_> = entries.filter_map(std::result::Result::ok).collect();
        files.sort_by_key(std::fs::DirEntry::file_name);
        for file in files {
            if !file.file_type().is_ok_and(|t| t.is_file()) {
                continue;
            }
            std::fs::create_dir_all(&dest).map_err(BuilderError::io("create", &dest))?;
            let to = dest.join(file.file_name());
            if std::fs::symlink_metadata(&to).is_ok() {
                std::fs::remove_file(&to).map_err(BuilderError::io("replace", &to))?;
            }
            link_or_copy(&file.path(), &to)?;
        }
    }
    Ok(())
}

/// A kernel release (`6.1.0-28-amd64`), the one directory name under `lib/modules`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ModDirVersion(String);

impl ModDirVersion {
    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for ModDirVersion {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        if text.is_empty() || text.contains('/') || text == "." || text == ".." {
            return Err(serde::de::Error::custom(format!(
                "`{text}` is not one directory name"
            )));
        }
        Ok(ModDirVersion(text))
    }
}

/// What `aggregate-modules` reads. Output: `$out/lib/modules/<version>/` with the winning
/// modules (hard links into the inputs), the first tree's other top-level files
/// (`modules.builtin`, `modules.order`, …) and the indexes.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AggregateInputs {
    mod_dir_version: ModDirVersion,
    /// Packages with `lib/modules/<version>`, in precedence order: a later tree's module
    /// replaces an earlier one of the same name.
    module_trees: Vec<StorePath>,
}

pub(crate) struct AggregateModules;

impl Builder for AggregateModules {
    fn check(&self, drv: &Derivation, inputs: &[PathBuf]) -> Result<(), BuildError> {
        inputs::check::<AggregateInputs>(drv, inputs).map_err(BuildError::new)?;
        Ok(())
    }

    fn build(
        &self,
        drv: &Derivation,
        inputs: &[PathBuf],
        out: &Path,
        _: &dyn Events,
    ) -> Result<(), BuildError> {
        let inputs: AggregateInputs = inputs::parse(drv, inputs).map_err(BuildError::new)?;
        Ok(aggregate(&inputs, out)?)
    }
}

fn aggregate(inputs: &AggregateInputs, out: &Path) -> Result<()> {
    let version = inputs.mod_dir_version.as_str();
    let mut trees = Vec::new();
    for package in &inputs.module_trees {
        let root = package.join(Path::new("lib/modules").join(version))?;
        if root.is_dir() {
            trees.push(ModuleTree { root });
        }
    }
    if trees.is_empty() {
        return Err(BuilderError::invalid(format!(
            "no module tree has lib/modules/{version}"
        )));
    }
    let index = kmod::index_modules(&trees)?;
    let root = out.join("lib/modules").join(version);
    std::fs::create_dir_all(&root).map_err(BuilderError::io("create", &root))?;
    for module in index.modules.values() {
        let to = root.join(&module.rel_path);
        if let Some(parent) = to.parent() {
            std::fs::create_dir_all(parent).map_err(BuilderError::io("create", parent))?;
        }
        link_or_copy(&module.source, &to)?;
    }
    for tree in &trees {
        let entries =
            std::fs::read_dir(&tree.root).map_err(BuilderError::io("list", &tree.root))?;
        let mut files: Vec<_> = entries.filter_map(std::result::Result::ok).collect();
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
    merge_modprobe_config(&inputs.module_trees, out)?;
    let names: Vec<&String> = index.modules.keys().collect();
    let closure = kmod::resolve(&index, &names)?;
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
        std::fs::write(&path, bytes).map_err(BuilderError::io("write", &path))?;
    }
    Ok(())
}
