//! `package-manifest`: the Debian packages whose bytes reach an image, as kiln-debian's
//! manifest (`$out/manifest.json`), with the licence references their copyright files need
//! (`$out/licenses.json`, a sorted list of `{ id, name, text }`, for the SBOM).
//!
//! The derivation names each package's unpacked tree (so its control file and
//! `/usr/share/doc/PKG/copyright` are inputs) with its `kiln.lock` entry and how it reaches the
//! image (`parts`); the profile library (`iso-image.nix`) decides that list. Nothing else is
//! read: the `.deb`'s hash is the lock's, which its fixed-output fetch checked, and the URL is
//! the pool path under Debian's canonical archive (`kiln_debian::mirror::DEFAULT_MIRROR`), not
//! the mirror the machine used, which no key covers.
//!
//! A package's control file must agree with its lock entry (name, version, architecture):
//! a tree that is not the package it claims to be fails the step. The copyright file is
//! looked up without following a symlink out of the trees: where `/usr/share/doc/PKG` is a
//! symlink to another package's directory (Debian allows it between packages of one source),
//! the file is taken from the package of the manifest that has that directory.

use crate::error::{BuilderError, Result};
use kiln_debian::copyright::{self, LicenseRef};
use kiln_debian::manifest::{LockEntry, Manifest, ManifestPackage, PARTS};
use kiln_store::inputs::{self, StorePath};
use kiln_store::{BuildError, Builder, Derivation, Events};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

pub(crate) const PACKAGE_MANIFEST: &str = "package-manifest";
/// The files of the output.
pub(crate) const MANIFEST_FILE: &str = "manifest.json";
pub(crate) const LICENSES_FILE: &str = "licenses.json";

/// What `package-manifest` reads.
#[derive(Deserialize)]
struct ManifestInputs {
    /// `[{ "part": "base", "tree": <an unpack-deb output>, "lock": <its kiln.lock entry> }]`; a
    /// package may come several times, once per part.
    #[serde(deserialize_with = "inputs::json")]
    packages: Vec<Item>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Item {
    part: String,
    tree: StorePath,
    lock: LockEntry,
}

pub(crate) struct PackageManifest;

impl ManifestInputs {
    fn validate(&self) -> Result<()> {
        for item in &self.packages {
            if !PARTS.iter().any(|(part, _)| *part == item.part) {
                let known: Vec<&str> = PARTS.iter().map(|(part, _)| *part).collect();
                return Err(BuilderError::invalid(format!(
                    "package `{}`: part `{}` is none of {}",
                    item.lock.name,
                    item.part,
                    known.join(", ")
                )));
            }
        }
        Ok(())
    }
}

impl Builder for PackageManifest {
    fn check(&self, drv: &Derivation, inputs: &[PathBuf]) -> Result<(), BuildError> {
        let parsed: ManifestInputs = inputs::check(drv, inputs).map_err(BuildError::new)?;
        parsed.validate()?;
        Ok(())
    }

    fn build(
        &self,
        drv: &Derivation,
        inputs: &[PathBuf],
        out: &Path,
        _: &dyn Events,
    ) -> Result<(), BuildError> {
        let inputs: ManifestInputs = inputs::parse(drv, inputs).map_err(BuildError::new)?;
        inputs.validate()?;
        Ok(build_manifest(&inputs, out)?)
    }
}

/// One package of the manifest, before its control file is read.
struct Gathered<'a> {
    tree: &'a Path,
    lock: &'a LockEntry,
    parts: Vec<String>,
}

fn build_manifest(inputs: &ManifestInputs, out: &Path) -> Result<()> {
    let mut by_name: BTreeMap<&str, Gathered<'_>> = BTreeMap::new();
    for item in &inputs.packages {
        let gathered = by_name
            .entry(item.lock.name.as_str())
            .or_insert_with(|| Gathered {
                tree: item.tree.path(),
                lock: &item.lock,
                parts: Vec::new(),
            });
        if gathered.lock != &item.lock || gathered.tree != item.tree.path() {
            return Err(BuilderError::invalid(format!(
                "package `{}` is given twice with different lock entries or trees",
                item.lock.name
            )));
        }
        if !gathered.parts.contains(&item.part) {
            gathered.parts.push(item.part.clone());
        }
    }
    // Which tree has `/usr/share/doc/<dir>/copyright`, for doc directories that are symlinks.
    let mut doc_owner: BTreeMap<String, &Path> = BTreeMap::new();
    for gathered in by_name.values() {
        let Some(docs) = real_dir(gathered.tree, "usr/share/doc") else {
            continue;
        };
        if let Ok(read) = std::fs::read_dir(&docs) {
            for entry in read.filter_map(std::result::Result::ok) {
                let name = entry.file_name().to_string_lossy().into_owned();
                if regular_file(gathered.tree, &format!("usr/share/doc/{name}/copyright")).is_some()
                {
                    doc_owner.entry(name).or_insert(gathered.tree);
                }
            }
        }
    }

    let mut packages = Vec::with_capacity(by_name.len());
    let mut refs: BTreeMap<String, LicenseRef> = BTreeMap::new();
    for (name, mut gathered) in by_name {
        gathered.parts.sort();
        let (source, source_version) = control_source(gathered.tree, gathered.lock)?;
        let licensing = match copyright_file(gathered.tree, name, &doc_owner) {
            Some((path, text)) => copyright::licensing(&text, &path),
            None => copyright::licensing("", name),
        };
        for reference in licensing.refs {
            refs.entry(reference.id.clone()).or_insert(reference);
        }
        packages.push(ManifestPackage {
            name: name.to_string(),
            version: gathered.lock.version.clone(),
            architecture: gathered.lock.architecture.clone(),
            source,
            source_version,
            sha256: gathered.lock.sha256.clone(),
            url: format!(
                "{}/{}",
                kiln_debian::mirror::DEFAULT_MIRROR,
                gathered.lock.filename
            ),
            parts: gathered.parts,
            license: licensing.declared,
            lock: gathered.lock.clone(),
        });
    }
    let manifest = Manifest::new(packages);

    std::fs::create_dir(out).map_err(BuilderError::io("create", out))?;
    write(&out.join(MANIFEST_FILE), manifest.to_json().as_bytes())?;
    let refs: Vec<serde_json::Value> = refs
        .into_values()
        .map(|r| serde_json::json!({ "id": r.id, "name": r.name, "text": r.text }))
        .collect();
    let mut text = serde_json::to_string_pretty(&refs)
        .map_err(|e| BuilderError::invalid(format!("cannot write {LICENSES_FILE}: {e}")))?;
    text.push('\n');
    write(&out.join(LICENSES_FILE), text.as_bytes())
}

/// Writes `bytes` to a temporary name beside `path`, then renames it into place.
pub(crate) fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    let name = path
        .file_name()
        .map_or_else(Default::default, |n| n.to_string_lossy().into_owned());
    let tmp = path.with_file_name(format!(".{name}.tmp"));
    std::fs::write(&tmp, bytes).map_err(BuilderError::io("write", &tmp))?;
    crate::set_mode(&tmp, 0o644)?;
    std::fs::rename(&tmp, path).map_err(BuilderError::io("rename into place", path))
}

/// The source package and its version from the control file, after checking that the tree is
/// the package its lock entry names.
fn control_source(tree: &Path, lock: &LockEntry) -> Result<(String, String)> {
    let rel = format!("{}/control/control", kiln_debian::CONTROL_DIR);
    let path = regular_file(tree, &rel).ok_or_else(|| {
        BuilderError::invalid(format!(
            "package `{}`: {} has no {rel} (not an unpacked package)",
            lock.name,
            tree.display()
        ))
    })?;
    let bytes = std::fs::read(&path).map_err(BuilderError::io("read", &path))?;
    let text = String::from_utf8_lossy(&bytes);
    let paragraphs = kiln_debian::deb822::parse(&text, &path.to_string_lossy())
        .map_err(|e| BuilderError::invalid(e.to_string()))?;
    let control = paragraphs.first().ok_or_else(|| {
        BuilderError::invalid(format!(
            "package `{}`: its control file is empty",
            lock.name
        ))
    })?;
    let same_version = |v: &str| {
        kiln_debian::Version::parse(v)
            .ok()
            .zip(kiln_debian::Version::parse(&lock.version).ok())
            .is_some_and(|(a, b)| a == b)
    };
    let (package, version, arch) = (
        control.get("Package").unwrap_or_default(),
        control.get("Version").unwrap_or_default(),
        control.get("Architecture").unwrap_or_default(),
    );
    if package != lock.name || !same_version(version) || arch != lock.architecture {
        return Err(BuilderError::invalid(format!(
            "the tree given for `{} {} ({})` holds `{package} {version} ({arch})`",
            lock.name, lock.version, lock.architecture
        )));
    }
    // `Source: glibc (2.36-9)` when the source's version differs, `Source: bash` otherwise.
    Ok(match control.get("Source") {
        Some(source) => match source.split_once('(') {
            Some((name, version)) => (
                name.trim().to_string(),
                version.trim_end_matches(')').trim().to_string(),
            ),
            None => (source.trim().to_string(), lock.version.clone()),
        },
        None => (lock.name.clone(), lock.version.clone()),
    })
}

/// `/usr/share/doc/NAME/copyright` of the package (or of the package whose doc directory its
/// own links to): the path as the image has it, and the text.
fn copyright_file(
    tree: &Path,
    name: &str,
    doc_owner: &BTreeMap<String, &Path>,
) -> Option<(String, String)> {
    let mut dir = name.to_string();
    let mut file = regular_file(tree, &format!("usr/share/doc/{dir}/copyright"));
    if file.is_none() {
        // A doc directory that is a symlink to a sibling's: `libgcc-s1 -> gcc-12-base`.
        let link = std::fs::read_link(real_dir(tree, "usr/share/doc")?.join(name)).ok()?;
        dir = link.file_name()?.to_string_lossy().into_owned();
        let owner = doc_owner.get(&dir)?;
        file = regular_file(owner, &format!("usr/share/doc/{dir}/copyright"));
    }
    let bytes = std::fs::read(file?).ok()?;
    Some((
        format!("/usr/share/doc/{dir}/copyright"),
        String::from_utf8_lossy(&bytes).into_owned(),
    ))
}

/// `root/rel` if it is a regular file reached through real directories only: a store tree may
/// hold symlinks to absolute paths, which must not lead a builder to the host's files.
fn regular_file(root: &Path, rel: &str) -> Option<PathBuf> {
    reached(root, rel, std::fs::Metadata::is_file)
}

/// `root/rel` if it is a real directory reached through real directories only.
fn real_dir(root: &Path, rel: &str) -> Option<PathBuf> {
    reached(root, rel, std::fs::Metadata::is_dir)
}

fn reached(root: &Path, rel: &str, last_is: fn(&std::fs::Metadata) -> bool) -> Option<PathBuf> {
    let mut path = root.to_path_buf();
    let components: Vec<Component<'_>> = Path::new(rel).components().collect();
    for (index, component) in components.iter().enumerate() {
        let Component::Normal(part) = component else {
            return None;
        };
        path.push(part);
        let meta = std::fs::symlink_metadata(&path).ok()?;
        let last = index + 1 == components.len();
        if (last && !last_is(&meta)) || (!last && !meta.is_dir()) {
            return None;
        }
    }
    Some(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lock(name: &str) -> LockEntry {
        LockEntry {
            name: name.into(),
            version: "1.0-1".into(),
            architecture: "amd64".into(),
            filename: format!("pool/main/x/{name}_1.0-1_amd64.deb"),
            size: 100,
            sha256: "a".repeat(64),
            depends: Vec::new(),
            installed_size: Some(4),
        }
    }

    /// An unpacked package: a control file and, if given, a copyright file.
    fn tree(root: &Path, name: &str, source: Option<&str>, copyright: Option<&str>) -> PathBuf {
        let tree = root.join(name);
        let control = tree.join(".kiln-deb/control");
        std::fs::create_dir_all(&control).unwrap();
        let source = source.map_or_else(String::new, |s| format!("Source: {s}\n"));
        std::fs::write(
            control.join("control"),
            format!("Package: {name}\n{source}Version: 1.0-1\nArchitecture: amd64\n"),
        )
        .unwrap();
        if let Some(text) = copyright {
            let doc = tree.join("usr/share/doc").join(name);
            std::fs::create_dir_all(&doc).unwrap();
            std::fs::write(doc.join("copyright"), text).unwrap();
        }
        tree
    }

    /// The inputs as the builder reads them from a derivation naming `items`.
    fn inputs(items: Vec<(&str, &Path, LockEntry)>) -> ManifestInputs {
        let json: Vec<serde_json::Value> = items
            .iter()
            .map(|(part, tree, lock)| serde_json::json!({ "part": part, "tree": tree, "lock": lock }))
            .collect();
        let mut drv = Derivation::new("manifest", PACKAGE_MANIFEST);
        drv.env
            .insert("packages".into(), serde_json::Value::from(json).to_string());
        let trees: Vec<PathBuf> = items
            .iter()
            .map(|(_, tree, _)| tree.to_path_buf())
            .collect();
        inputs::parse(&drv, &trees).unwrap()
    }

    #[test]
    fn the_manifest_reads_sources_and_licences_from_the_trees() {
        let dir = tempfile::tempdir().unwrap();
        let dep5 = "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\nFiles: *\nCopyright: x\nLicense: GPL-2+\n";
        let a = tree(dir.path(), "liba1", Some("a (0.9-2)"), Some(dep5));
        let b = tree(dir.path(), "liba-dev", Some("a"), None);
        // liba-dev's doc directory is a symlink to liba1's, as Debian allows.
        std::fs::create_dir_all(b.join("usr/share/doc")).unwrap();
        std::os::unix::fs::symlink("liba1", b.join("usr/share/doc/liba-dev")).unwrap();
        let c = tree(dir.path(), "tool", None, Some("free text, not DEP-5\n"));
        let out = dir.path().join("out");
        let given = inputs(vec![
            ("base", &c, lock("tool")),
            ("base", &a, lock("liba1")),
            ("kernel", &a, lock("liba1")),
            ("base", &b, lock("liba-dev")),
        ]);
        build_manifest(&given, &out).unwrap();
        let text = std::fs::read_to_string(out.join(MANIFEST_FILE)).unwrap();
        let manifest = Manifest::parse(&text, "m").unwrap();
        let names: Vec<&str> = manifest.packages.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["liba-dev", "liba1", "tool"]);
        let [dev, lib, tool] = &manifest.packages[..] else {
            panic!("{names:?}")
        };
        assert_eq!(
            (lib.source.as_str(), lib.source_version.as_str()),
            ("a", "0.9-2")
        );
        assert_eq!(
            (dev.source.as_str(), dev.source_version.as_str()),
            ("a", "1.0-1")
        );
        assert_eq!(
            (tool.source.as_str(), tool.parts.as_slice()),
            ("tool", &["base".to_string()][..])
        );
        assert_eq!(lib.parts, ["base", "kernel"]);
        assert_eq!(lib.license, "GPL-2.0-or-later");
        assert_eq!(dev.license, "GPL-2.0-or-later", "through the doc symlink");
        assert_eq!(tool.license, "NOASSERTION");
        assert_eq!(
            tool.url,
            "http://deb.debian.org/debian/pool/main/x/tool_1.0-1_amd64.deb"
        );
        assert_eq!(
            std::fs::read_to_string(out.join(LICENSES_FILE)).unwrap(),
            "[]\n"
        );
    }

    #[test]
    fn a_tree_that_is_not_its_lock_entry_fails() {
        let dir = tempfile::tempdir().unwrap();
        let a = tree(dir.path(), "a", None, None);
        let err = build_manifest(
            &inputs(vec![("base", &a, lock("b"))]),
            &dir.path().join("o"),
        )
        .unwrap_err();
        assert!(err.to_string().contains("holds `a 1.0-1 (amd64)`"), "{err}");
        let bad_part = inputs(vec![("rootfs", &a, lock("a"))]);
        assert!(bad_part
            .validate()
            .unwrap_err()
            .to_string()
            .contains("part `rootfs`"));
    }

    #[test]
    fn a_symlink_out_of_the_tree_is_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let a = tree(dir.path(), "a", None, None);
        std::fs::create_dir_all(a.join("usr/share")).unwrap();
        // An absolute link would reach the host's /usr/share/doc.
        std::os::unix::fs::symlink("/usr/share/doc", a.join("usr/share/doc")).unwrap();
        assert!(regular_file(&a, "usr/share/doc/a/copyright").is_none());
        assert!(copyright_file(&a, "a", &BTreeMap::new()).is_none());
    }
}
