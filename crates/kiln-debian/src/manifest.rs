//! The package manifest of an image (`NAME.manifest.json` beside `NAME.iso`): every Debian
//! package whose bytes reach the image, and the difference of two manifests (`kiln diff`).
//!
//! ```json
//! {
//!   "format": "kiln-manifest",
//!   "version": 1,
//!   "packages": [
//!     {
//!       "name": "bash",
//!       "version": "5.2.15-2+b7",
//!       "architecture": "amd64",
//!       "source": "bash",
//!       "sourceVersion": "5.2.15-2",
//!       "sha256": "<the .deb's SHA-256>",
//!       "url": "http://deb.debian.org/debian/pool/main/b/bash/bash_5.2.15-2+b7_amd64.deb",
//!       "parts": ["base"],
//!       "license": "GPL-3.0-or-later AND ...",
//!       "lock": { "name": "bash", "version": "...", "architecture": "amd64", "filename": "pool/...",
//!                 "size": 1483720, "sha256": "...", "depends": ["base-files", "debianutils"],
//!                 "installed-size": 7167 }
//!     }
//!   ]
//! }
//! ```
//!
//! `parts` says how a package reaches the image ([`Part`]); `lock` is its `kiln.lock` entry, field
//! for field; `license` is an SPDX expression from its copyright file (see [`crate::copyright`]).
//! Packages are sorted by name, each once. The format is written by kiln's `package-manifest`
//! builder and read back by `kiln diff`; a file that is not one is a `kiln::debian::not_a_manifest`.

use crate::error::{DebianError, DebianResult};
use crate::version::Version;
use serde::{Deserialize, Serialize};
use std::cmp::Ordering;

/// The value of a manifest's `format` field.
pub const FORMAT: &str = "kiln-manifest";
/// The version of the format this kiln writes and reads.
pub const FORMAT_VERSION: u32 = 1;

/// How a package reaches the image. Build-only inputs (the compiler and headers an out-of-tree
/// module is built with, the `kmod` that indexes modules, `fakeroot`) never do, and are not in
/// a manifest.
pub const PARTS: &[(&str, &str)] = &[
    (
        "base",
        "installed and configured in the live root (the base layer)",
    ),
    (
        "kernel",
        "the kernel and its modules (the ISO's kernel, the kernel layer, the initrd)",
    ),
    (
        "module-source",
        "source of an out-of-tree module built into the kernel layer",
    ),
    ("initrd", "a program of the initrd (busybox)"),
    (
        "boot-loader",
        "a boot loader on the ISO (isolinux, systemd-boot)",
    ),
];

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub format: String,
    pub version: u32,
    pub packages: Vec<ManifestPackage>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ManifestPackage {
    pub name: String,
    pub version: String,
    pub architecture: String,
    /// The source package it was built from, and that source's version (`Source:` in its
    /// control file; the package's own name and version when there is none).
    pub source: String,
    pub source_version: String,
    /// The `.deb`'s SHA-256 (hex), as the signed index gave it and its fetch checked it.
    pub sha256: String,
    /// Where the archive serves the `.deb`.
    pub url: String,
    /// How it reaches the image, sorted: names from [`PARTS`].
    pub parts: Vec<String>,
    /// An SPDX licence expression, or `NOASSERTION`.
    pub license: String,
    pub lock: LockEntry,
}

/// A package's `kiln.lock` entry, with the lock's field names.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LockEntry {
    pub name: String,
    pub version: String,
    pub architecture: String,
    pub filename: String,
    /// The `.deb`'s size in bytes.
    pub size: u64,
    pub sha256: String,
    pub depends: Vec<String>,
    /// `Installed-Size`, in KiB.
    #[serde(rename = "installed-size")]
    pub installed_size: Option<u64>,
}

impl Manifest {
    /// A manifest of `packages`, sorted by name.
    pub fn new(mut packages: Vec<ManifestPackage>) -> Manifest {
        packages.sort_by(|a, b| a.name.cmp(&b.name));
        Manifest {
            format: FORMAT.to_string(),
            version: FORMAT_VERSION,
            packages,
        }
    }

    /// Reads a manifest; `what` names it in errors.
    pub fn parse(text: &str, what: &str) -> DebianResult<Manifest> {
        let not = |reason: String| DebianError::NotManifest {
            what: what.to_string(),
            reason,
        };
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| not(format!("not JSON ({e})")))?;
        if value.get("format").and_then(serde_json::Value::as_str) != Some(FORMAT) {
            return Err(not(format!("it has no `\"format\": \"{FORMAT}\"`")));
        }
        let version = value.get("version").and_then(serde_json::Value::as_u64);
        if version != Some(u64::from(FORMAT_VERSION)) {
            return Err(not(format!(
                "format version {}, this kiln reads {FORMAT_VERSION}",
                version.map_or_else(|| "missing".to_string(), |v| v.to_string())
            )));
        }
        let manifest: Manifest = serde_path_to_error::deserialize(value)
            .map_err(|e| not(format!("at `{}`: {}", e.path(), e.inner())))?;
        for pair in manifest.packages.windows(2) {
            if pair[0].name >= pair[1].name {
                return Err(not(format!(
                    "packages are not sorted by name, each once (`{}` before `{}`)",
                    pair[0].name, pair[1].name
                )));
            }
        }
        for package in &manifest.packages {
            Version::parse(&package.version)
                .map_err(|e| not(format!("package `{}`: {e}", package.name)))?;
        }
        Ok(manifest)
    }

    /// The manifest as the builder writes it: pretty JSON and a final newline.
    pub fn to_json(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).unwrap_or_default();
        text.push('\n');
        text
    }
}

/// What changed from one manifest to another.
#[derive(Debug)]
pub struct ManifestDiff<'a> {
    pub added: Vec<&'a ManifestPackage>,
    pub removed: Vec<&'a ManifestPackage>,
    /// `(old, new)`, by dpkg's version order.
    pub upgraded: Vec<(&'a ManifestPackage, &'a ManifestPackage)>,
    pub downgraded: Vec<(&'a ManifestPackage, &'a ManifestPackage)>,
    /// The same version with another `.deb` (a different architecture or a rebuilt archive).
    pub changed: Vec<(&'a ManifestPackage, &'a ManifestPackage)>,
    pub unchanged: usize,
    /// Totals of (old, new): `Installed-Size` in KiB, `.deb` sizes in bytes.
    pub installed_kib: (u64, u64),
    pub deb_bytes: (u64, u64),
}

impl ManifestDiff<'_> {
    pub fn is_empty(&self) -> bool {
        self.added.is_empty()
            && self.removed.is_empty()
            && self.upgraded.is_empty()
            && self.downgraded.is_empty()
            && self.changed.is_empty()
    }
}

/// The difference from `old` to `new`; both sorted by name, as [`Manifest::parse`] checks.
pub fn diff<'a>(old: &'a Manifest, new: &'a Manifest) -> ManifestDiff<'a> {
    let totals = |m: &Manifest| {
        m.packages.iter().fold((0, 0), |(kib, bytes), p| {
            (
                kib + p.lock.installed_size.unwrap_or(0),
                bytes + p.lock.size,
            )
        })
    };
    let (old_kib, old_bytes) = totals(old);
    let (new_kib, new_bytes) = totals(new);
    let mut result = ManifestDiff {
        added: Vec::new(),
        removed: Vec::new(),
        upgraded: Vec::new(),
        downgraded: Vec::new(),
        changed: Vec::new(),
        unchanged: 0,
        installed_kib: (old_kib, new_kib),
        deb_bytes: (old_bytes, new_bytes),
    };
    let (mut a, mut b) = (
        old.packages.iter().peekable(),
        new.packages.iter().peekable(),
    );
    loop {
        match (a.peek(), b.peek()) {
            (Some(x), Some(y)) if x.name < y.name => result.removed.extend(a.next()),
            (Some(x), Some(y)) if x.name > y.name => result.added.extend(b.next()),
            (Some(_), Some(_)) => {
                let (Some(x), Some(y)) = (a.next(), b.next()) else {
                    break;
                };
                // Both were checked to parse; a failure here compares as text.
                let order = match (Version::parse(&x.version), Version::parse(&y.version)) {
                    (Ok(v), Ok(w)) => v.cmp(&w),
                    _ => x.version.cmp(&y.version),
                };
                match order {
                    Ordering::Less => result.upgraded.push((x, y)),
                    Ordering::Greater => result.downgraded.push((x, y)),
                    Ordering::Equal if x.sha256 != y.sha256 => result.changed.push((x, y)),
                    Ordering::Equal => result.unchanged += 1,
                }
            }
            (Some(_), None) => result.removed.extend(a.next()),
            (None, Some(_)) => result.added.extend(b.next()),
            (None, None) => break,
        }
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn package(name: &str, version: &str) -> ManifestPackage {
        ManifestPackage {
            name: name.into(),
            version: version.into(),
            architecture: "amd64".into(),
            source: name.into(),
            source_version: version.into(),
            sha256: format!("{:0>64}", version.len()),
            url: format!("http://deb.debian.org/debian/pool/main/{name}.deb"),
            parts: vec!["base".into()],
            license: "GPL-2.0-or-later".into(),
            lock: LockEntry {
                name: name.into(),
                version: version.into(),
                architecture: "amd64".into(),
                filename: format!("pool/main/{name}.deb"),
                size: 1000,
                sha256: format!("{:0>64}", version.len()),
                depends: vec!["libc6".into()],
                installed_size: Some(10),
            },
        }
    }

    #[test]
    fn a_manifest_round_trips_through_its_text() {
        let manifest = Manifest::new(vec![package("zsh", "5.9-4"), package("bash", "5.2-1")]);
        assert_eq!(manifest.packages[0].name, "bash", "sorted by name");
        let text = manifest.to_json();
        assert!(text.contains("\"installed-size\": 10"), "{text}");
        assert!(text.contains("\"sourceVersion\": \"5.2-1\""), "{text}");
        let again = Manifest::parse(&text, "m").unwrap();
        assert_eq!(again, manifest);
        assert_eq!(again.to_json(), text);
    }

    #[test]
    fn what_is_not_a_manifest_is_named() {
        let manifest = Manifest::new(vec![package("a", "1"), package("b", "1")]);
        let good = manifest.to_json();
        for (text, reason) in [
            ("{", "not JSON"),
            (
                "{\"format\": \"spdx\"}",
                "no `\"format\": \"kiln-manifest\"`",
            ),
            (
                "{\"format\": \"kiln-manifest\", \"version\": 9, \"packages\": []}",
                "format version 9",
            ),
            (
                &good.replace("\"url\"", "\"uri\""),
                "at `packages[0].uri`: unknown field `uri`",
            ),
            (
                &good.replace("\"name\": \"b\"", "\"name\": \"a\""),
                "not sorted",
            ),
        ] {
            let err = Manifest::parse(text, "m.json").unwrap_err();
            assert_eq!(err.code_str(), "kiln::debian::not_a_manifest");
            assert!(err.to_string().contains(reason), "{err} lacks {reason}");
        }
    }

    #[test]
    fn the_difference_sorts_packages_by_what_happened() {
        let old = Manifest::new(vec![
            package("gone", "1"),
            package("newer", "1:1.0-1"),
            package("older", "2.0"),
            package("same", "1.0"),
            package("rebuilt", "1.0"),
        ]);
        let mut rebuilt = package("rebuilt", "1.0");
        rebuilt.sha256 = "f".repeat(64);
        rebuilt.lock.installed_size = Some(30);
        let new = Manifest::new(vec![
            package("added", "3"),
            package("newer", "1:1.0-2"),
            package("older", "1.9"),
            package("same", "1.0"),
            rebuilt,
        ]);
        let d = diff(&old, &new);
        let names =
            |list: &[&ManifestPackage]| list.iter().map(|p| p.name.clone()).collect::<Vec<_>>();
        assert_eq!(names(&d.added), ["added"]);
        assert_eq!(names(&d.removed), ["gone"]);
        assert_eq!(d.upgraded.len(), 1);
        assert_eq!(d.upgraded[0].1.version, "1:1.0-2");
        assert_eq!(d.downgraded[0].1.version, "1.9");
        assert_eq!(d.changed[0].0.name, "rebuilt");
        assert_eq!(d.unchanged, 1);
        assert_eq!(d.installed_kib, (50, 70));
        assert_eq!(d.deb_bytes, (5000, 5000));
        assert!(!d.is_empty());
        assert!(diff(&old, &old).is_empty());
    }
}
