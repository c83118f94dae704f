//! kiln-builders: the native builders a derivation names in `builder`, and the registry that
//! finds them.
//!
//! Each builder reads its derivation's attributes into one typed struct with
//! [`kiln_store::inputs`] (documented on the struct), so a missing or ill-typed attribute, or a
//! path outside the derivation's inputs, is an error naming the attribute, reported at
//! evaluation ([`Registry::check`]) and again at build time. Builders read nothing else: not
//! the process environment, not the clock, not a host path. What changes their output is an
//! attribute, and so part of the store key.
//!
//! The builders, by name:
//! - `fetch-deb`, `unpack-deb` (kiln-debian): a `.deb` by its SHA-256, and its unpacked tree;
//! - `copy-path`: a file tree read at evaluation time (a path value, `builtins.path`);
//! - `kbuild-module`: an out-of-tree kernel module built against Debian's headers;
//! - `sign-modules`: those modules signed with `boot.moduleSigning`'s key (Secure Boot);
//! - `aggregate-modules`: the kernel's module tree merged with `boot.extraModulePackages`;
//! - `package-tree`: unpacked packages merged into a read-only root programs run in;
//! - `debian-root`: the live root's base layer, configured by dpkg in the sandbox;
//! - `kernel-layer`, `system-layer`: its upper layers (modules; accounts and generated files);
//! - `package-manifest`: the Debian packages that reach the image, with sources and licences;
//! - `initrd`, `iso`: the image (beside the ISO, its package manifest and SPDX SBOM);
//! - `netboot`: the kernel, initrd and iPXE script for a network boot.
//!
//! ```
//! let registry = kiln_builders::Registry::new(Default::default());
//! assert!(kiln_builders::Registry::names().contains("iso"));
//! let mut drv = kiln_store::Derivation::new("system", "system-layer");
//! drv.env.insert("compression".into(), "lz4".into());
//! let err = registry.check(&drv, &[]).unwrap_err();
//! assert!(err.to_string().contains("attribute `compression`"), "{err}");
//! ```

mod debian_root;
mod error;
mod fakeroot;
mod image;
mod kbuild;
mod layers;
mod manifest;
mod modules;
mod netboot;
mod sandbox;
mod sign;
mod source;
mod spdx;
mod tree;

pub use error::BuilderError;
pub use kbuild::KBUILD_MODULE;
pub use source::{hash_source, SourceTree, Sources, COPY_PATH};

use kiln_debian::{FetchDeb, UnpackDeb, FETCH_DEB, UNPACK_DEB};
use kiln_store::{BuildError, Builder, Builders, Derivation};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Every builder name a derivation may use, with the version of its code. A change to a
/// builder that makes different bytes from the same attributes bumps its version, which is
/// part of every key it builds (`Derivation::builder_version`): entries an older kiln built
/// are not reused as if they were the new builder's.
const NAMES: &[(&str, u32)] = &[
    (FETCH_DEB, 1),
    (UNPACK_DEB, 1),
    (COPY_PATH, 1),
    // 2: conffiles stay in place beside their `.dpkg-new` (as mmdebstrap extracts them).
    // 3: runs without root, dpkg under fakeroot (the `fakeroot` input), the same bytes.
    // 4: every path's time is `SOURCE_DATE_EPOCH` before dpkg configures the root (the `.pyc`
    // files Python caches record it).
    (debian_root::DEBIAN_ROOT, 4),
    (KBUILD_MODULE, 1),
    (sign::SIGN_MODULES, 1),
    (modules::AGGREGATE_MODULES, 1),
    (image::INITRD, 1),
    // 2: the menu is `isoImage.bootEntries`: an isolinux `LABEL` and a systemd-boot entry
    // (`kiln-<name>.conf`, with a `sort-key`) per entry.
    // 3: `<stem>.manifest.json` and `<stem>.spdx.json` beside the ISO.
    // 4: `secureBoot`: the ESP holds Debian's signed shim and GRUB, the medium GRUB's menu.
    // 5: GRUB's menu keeps the firmware's graphics mode for the kernel (`gfxpayload=keep`).
    (image::ISO, 5),
    (manifest::PACKAGE_MANIFEST, 1),
    (layers::KERNEL_LAYER, 1),
    // 2: UEFI: shim, Debian's network GRUB and its `grub/grub.cfg`.
    (netboot::NETBOOT, 2),
    // 2: files copied from the store get 0644/0755 (skel's were 0444).
    (layers::SYSTEM_LAYER, 2),
    (tree::PACKAGE_TREE, 1),
];

/// The builders of one session. `sources` holds what `copy-path` writes: the trees the
/// evaluation read, by the id of the derivation that names them.
pub struct Registry {
    fetch: FetchDeb,
    unpack: UnpackDeb,
    copy: source::CopyPath,
    debian_root: debian_root::DebianRoot,
    kbuild: kbuild::KbuildModule,
    sign: sign::SignModules,
    modules: modules::AggregateModules,
    initrd: image::Initrd,
    iso: image::Iso,
    netboot: netboot::Netboot,
    manifest: manifest::PackageManifest,
    kernel_layer: layers::KernelLayer,
    system_layer: layers::SystemLayer,
    package_tree: tree::PackageTree,
}

impl Registry {
    pub fn new(sources: Sources) -> Registry {
        Registry {
            fetch: FetchDeb::default(),
            unpack: UnpackDeb,
            copy: source::CopyPath { sources },
            debian_root: debian_root::DebianRoot,
            kbuild: kbuild::KbuildModule,
            sign: sign::SignModules,
            modules: modules::AggregateModules,
            initrd: image::Initrd,
            iso: image::Iso,
            netboot: netboot::Netboot,
            manifest: manifest::PackageManifest,
            kernel_layer: layers::KernelLayer,
            system_layer: layers::SystemLayer,
            package_tree: tree::PackageTree,
        }
    }

    pub fn names() -> BTreeSet<&'static str> {
        NAMES.iter().map(|(name, _)| *name).collect()
    }

    /// The version of a builder's code (0 for a name that is not a builder).
    pub fn version(name: &str) -> u32 {
        NAMES
            .iter()
            .find(|(n, _)| *n == name)
            .map_or(0, |(_, version)| *version)
    }

    pub fn builders(&self) -> Builders<'_> {
        [
            (FETCH_DEB, &self.fetch as &dyn Builder),
            (UNPACK_DEB, &self.unpack as &dyn Builder),
            (COPY_PATH, &self.copy as &dyn Builder),
            (debian_root::DEBIAN_ROOT, &self.debian_root as &dyn Builder),
            (KBUILD_MODULE, &self.kbuild as &dyn Builder),
            (sign::SIGN_MODULES, &self.sign as &dyn Builder),
            (modules::AGGREGATE_MODULES, &self.modules as &dyn Builder),
            (image::INITRD, &self.initrd as &dyn Builder),
            (image::ISO, &self.iso as &dyn Builder),
            (netboot::NETBOOT, &self.netboot as &dyn Builder),
            (manifest::PACKAGE_MANIFEST, &self.manifest as &dyn Builder),
            (layers::KERNEL_LAYER, &self.kernel_layer as &dyn Builder),
            (layers::SYSTEM_LAYER, &self.system_layer as &dyn Builder),
            (tree::PACKAGE_TREE, &self.package_tree as &dyn Builder),
        ]
        .into_iter()
        .collect()
    }

    /// Checks a derivation at evaluation time (its builder's attributes; `inputs` are its
    /// inputs' out paths). An unknown builder is the caller's error to report.
    pub fn check(&self, drv: &Derivation, inputs: &[PathBuf]) -> Result<(), BuildError> {
        match self.builders().get(drv.builder.as_str()) {
            Some(builder) => builder.check(drv, inputs),
            None => Ok(()),
        }
    }
}

/// A hard link to `from` at `to` (store entries share a file system), or a copy where linking
/// is refused.
pub(crate) fn link_or_copy(from: &Path, to: &Path) -> error::Result<()> {
    if std::fs::hard_link(from, to).is_err() {
        std::fs::copy(from, to).map_err(BuilderError::io("copy to", to))?;
    }
    Ok(())
}

pub(crate) fn set_mode(path: &Path, mode: u32) -> error::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .map_err(BuilderError::io("set the mode of", path))
}
