//! kiln's native builders, by the names derivations give in `builder`.
//!
//! Each reads its derivation's environment (strings, as Nix passes them; store paths of inputs
//! are absolute paths of realised entries) and fills `out`. What the image builders make of the
//! environment is documented at each builder; the Nix side is `profiles/modules/`.

mod image;
mod modules;
mod rootfs;

use crate::host::{write_source, Sources, COPY_PATH};
use kiln_debian::{FetchDeb, UnpackDeb, FETCH_DEB, UNPACK_DEB};
use kiln_store::{Builder, Builders, Derivation, Events};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

pub(crate) use image::{Initrd, Iso, INITRD, ISO};
pub(crate) use modules::{AggregateModules, AGGREGATE_MODULES};
pub(crate) use rootfs::{Rootfs, Squashfs, ROOTFS, SQUASHFS};

/// Every builder name a derivation may use.
pub(crate) const NAMES: &[&str] = &[
    FETCH_DEB,
    UNPACK_DEB,
    COPY_PATH,
    crate::KBUILD_MODULE,
    AGGREGATE_MODULES,
    INITRD,
    ISO,
    ROOTFS,
    SQUASHFS,
];

/// The builder objects of one session.
pub(crate) struct Registry {
    fetch: FetchDeb,
    unpack: UnpackDeb,
    copy: CopyPath,
    kbuild: crate::KbuildModule,
    modules: AggregateModules,
    initrd: Initrd,
    iso: Iso,
    rootfs: Rootfs,
    squashfs: Squashfs,
}

impl Registry {
    pub(crate) fn new(sources: Sources) -> Registry {
        Registry {
            fetch: FetchDeb::default(),
            unpack: UnpackDeb,
            copy: CopyPath { sources },
            kbuild: crate::KbuildModule,
            modules: AggregateModules,
            initrd: Initrd,
            iso: Iso,
            rootfs: Rootfs,
            squashfs: Squashfs,
        }
    }

    pub(crate) fn names() -> BTreeSet<&'static str> {
        NAMES.iter().copied().collect()
    }

    pub(crate) fn builders(&self) -> Builders<'_> {
        [
            (FETCH_DEB, &self.fetch as &dyn Builder),
            (UNPACK_DEB, &self.unpack as &dyn Builder),
            (COPY_PATH, &self.copy as &dyn Builder),
            (crate::KBUILD_MODULE, &self.kbuild as &dyn Builder),
            (AGGREGATE_MODULES, &self.modules as &dyn Builder),
            (INITRD, &self.initrd as &dyn Builder),
            (ISO, &self.iso as &dyn Builder),
            (ROOTFS, &self.rootfs as &dyn Builder),
            (SQUASHFS, &self.squashfs as &dyn Builder),
        ]
        .into_iter()
        .collect()
    }
}

/// Writes a source read at evaluation time (a path value in a derivation).
pub(crate) struct CopyPath {
    sources: Sources,
}

impl Builder for CopyPath {
    fn build(
        &self,
        drv: &Derivation,
        _: &[PathBuf],
        out: &Path,
        _: &dyn Events,
    ) -> Result<(), String> {
        let sources = self
            .sources
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let tree = sources
            .get(&drv.id())
            .ok_or_else(|| format!("the source `{}` was not read in this evaluation", drv.name))?;
        write_source(tree, out).map_err(|e| format!("writing {}: {e}", out.display()))
    }
}

/// An environment variable a builder needs.
pub(crate) fn env<'a>(drv: &'a Derivation, key: &str) -> Result<&'a str, String> {
    drv.env
        .get(key)
        .map(String::as_str)
        .ok_or_else(|| format!("derivation `{}` has no `{key}` attribute", drv.name))
}

/// A space-separated list attribute (Nix's encoding of lists in the environment).
pub(crate) fn env_list<'a>(drv: &'a Derivation, key: &str) -> Vec<&'a str> {
    drv.env
        .get(key)
        .map(|v| v.split_whitespace().collect())
        .unwrap_or_default()
}

/// A Boolean attribute (`"1"` or `""`).
pub(crate) fn env_bool(drv: &Derivation, key: &str) -> bool {
    drv.env.get(key).is_some_and(|v| v == "1")
}

/// An I/O error on `path`, as builders report it.
pub(crate) fn io(path: &Path, err: std::io::Error) -> String {
    format!("{}: {err}", path.display())
}

/// A hard link to `from` at `to` (store entries share a file system), or a copy where linking
/// is refused.
pub(crate) fn link_or_copy(from: &Path, to: &Path) -> Result<(), String> {
    if std::fs::hard_link(from, to).is_err() {
        std::fs::copy(from, to).map_err(|e| io(to, e))?;
    }
    Ok(())
}
