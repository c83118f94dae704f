//! The archive index: fetch and verify `InRelease`, fetch and check each component's
//! `Packages`, and cache both in the store as fixed-output entries.
//!
//! Cache keys are content hashes, so the cache can never serve something the signature did not
//! cover: `InRelease` is stored under its own SHA-256 (and re-verified with `gpgv` whenever it
//! is read back), and each `Packages` file is stored decompressed under the SHA-256 that the
//! signed `InRelease` gives for the uncompressed file. A lock pins the `InRelease` hash, so
//! re-resolving against a pinned release needs no network once it is cached.

use crate::download::download;
use crate::error::{DebianError, DebianResult};
use crate::mirror;
use crate::packages::{parse_packages, Package};
use crate::release::{sha256_hex, verify_inrelease, Release};
use kiln_store::{Derivation, Store};
use std::collections::BTreeMap;
use std::io::Read;
use std::path::PathBuf;

pub const DEFAULT_KEYRING: &str = "/usr/share/keyrings/debian-archive-keyring.gpg";

/// Where the archive is and what of it to read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArchiveOptions {
    /// Mirror root, e.g. `http://deb.debian.org/debian` (no trailing `/`).
    pub mirror: String,
    pub suite: String,
    /// Components to index. The default includes `non-free`, because `broadcom-sta-dkms`
    /// (the source of Broadcom's `wl` Wi-Fi driver) lives there and not in `contrib`.
    pub components: Vec<String>,
    pub architecture: String,
    /// The keyring `InRelease` must verify against.
    pub keyring: PathBuf,
    /// Use only what the store holds; fail if the index is not cached.
    pub offline: bool,
}

impl Default for ArchiveOptions {
    /// bookworm, `main contrib non-free non-free-firmware`, amd64, the host's mirror
    /// ([`mirror::default_mirror`]) and Debian's archive keyring.
    fn default() -> ArchiveOptions {
        ArchiveOptions {
            mirror: mirror::default_mirror(),
            suite: "bookworm".into(),
            components: vec![
                "main".into(),
                "contrib".into(),
                "non-free".into(),
                "non-free-firmware".into(),
            ],
            architecture: "amd64".into(),
            keyring: PathBuf::from(DEFAULT_KEYRING),
            offline: false,
        }
    }
}

/// Every package of the enabled components, by name, newest version first.
#[derive(Clone, Debug)]
pub struct Index {
    pub release: Release,
    pub mirror: String,
    pub suite: String,
    pub components: Vec<String>,
    pub architecture: String,
    packages: BTreeMap<String, Vec<Package>>,
    /// Virtual name → the packages that provide it (name, index into `packages[name]`).
    providers: BTreeMap<String, Vec<(String, usize)>>,
}

impl Index {
    /// Builds an index from packages already parsed (fixtures, tests, other sources).
    pub fn from_packages(release: Release, options: &ArchiveOptions, list: Vec<Package>) -> Index {
        let mut packages: BTreeMap<String, Vec<Package>> = BTreeMap::new();
        for package in list {
            packages
                .entry(package.name.clone())
                .or_default()
                .push(package);
        }
        let mut providers: BTreeMap<String, Vec<(String, usize)>> = BTreeMap::new();
        for (name, versions) in &mut packages {
            versions.sort_by(|a, b| b.version.cmp(&a.version));
            versions.dedup_by(|a, b| a.version == b.version);
            for (idx, package) in versions.iter().enumerate() {
                for provided in &package.provides {
                    providers
                        .entry(provided.name.clone())
                        .or_default()
                        .push((name.clone(), idx));
                }
            }
        }
        Index {
            release,
            mirror: options.mirror.clone(),
            suite: options.suite.clone(),
            components: options.components.clone(),
            architecture: options.architecture.clone(),
            packages,
            providers,
        }
    }

    /// The versions of a real package, newest first (empty if there is none).
    pub fn versions(&self, name: &str) -> &[Package] {
        self.packages.get(name).map_or(&[], Vec::as_slice)
    }

    /// The newest version of a real package.
    pub fn get(&self, name: &str) -> Option<&Package> {
        self.versions(name).first()
    }

    /// The packages that `Provides` `name`, each with the version it provides (if any).
    pub fn providers(&self, name: &str) -> Vec<&Package> {
        self.providers
            .get(name)
            .into_iter()
            .flatten()
            .filter_map(|(pkg, idx)| self.packages.get(pkg)?.get(*idx))
            .collect()
    }

    /// All real packages, by name.
    pub fn iter(&self) -> impl Iterator<Item = &Package> {
        self.packages.values().flatten()
    }

    /// The names of a package set of the release, sorted: `essential` (`Essential: yes`, what
    /// every Debian system has) or `required` (`Priority: required`, mmdebstrap's
    /// `--variant=required`); `None` for another kind.
    pub fn package_set(&self, kind: &str) -> Option<Vec<String>> {
        let in_set: fn(&Package) -> bool = match kind {
            "essential" => |p| p.essential,
            "required" => |p| p.priority.as_deref() == Some("required"),
            _ => return None,
        };
        let names: std::collections::BTreeSet<&str> = self
            .iter()
            .filter(|p| in_set(p))
            .map(|p| p.name.as_str())
            .collect();
        Some(names.into_iter().map(String::from).collect())
    }

    pub fn len(&self) -> usize {
        self.packages.len()
    }

    pub fn is_empty(&self) -> bool {
        self.packages.is_empty()
    }
}

/// Opens the archive index: the `InRelease` pinned by a lock (`pinned_release`, its SHA-256)
/// when the store has it, else the mirror's current one; then every component's `Packages`.
///
/// Without a pin, when the network is off (`offline`) or the mirror cannot be reached, the
/// newest `InRelease` cached in the store is used, so a second run needs no network.
pub fn open_index(
    store: &Store,
    options: &ArchiveOptions,
    pinned_release: Option<&str>,
) -> DebianResult<Index> {
    let release = load_release(store, options, pinned_release)?;
    let lists: Vec<DebianResult<Vec<Package>>> = std::thread::scope(|scope| {
        let handles: Vec<_> = options
            .components
            .iter()
            .map(|component| scope.spawn(|| load_packages(store, options, &release, component)))
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join().unwrap_or_else(|_| {
                    Err(DebianError::Parse {
                        what: "Packages".into(),
                        line: 0,
                        message: "kiln bug: the index reader panicked".into(),
                    })
                })
            })
            .collect()
    });
    let mut all = Vec::new();
    for list in lists {
        all.extend(list?);
    }
    Ok(Index::from_packages(release, options, all))
}

/// The store entry of a fixed-output file with a known SHA-256.
fn fixed(name: &str, sha256: &str) -> Derivation {
    let mut drv = Derivation::new(name, "fetch-index");
    drv.fixed_output = Some(format!("sha256:{sha256}"));
    drv
}

fn inrelease_name(options: &ArchiveOptions) -> String {
    format!("debian-{}-InRelease", options.suite)
}

fn load_release(
    store: &Store,
    options: &ArchiveOptions,
    pinned: Option<&str>,
) -> DebianResult<Release> {
    let what = format!("{}/dists/{}/InRelease", options.mirror, options.suite);
    if let Some(pinned) = pinned {
        let entry = fixed(&inrelease_name(options), pinned).entry()?;
        if store.contains(&entry) {
            let path = store.path(&entry);
            let bytes = std::fs::read(&path).map_err(DebianError::io("read", &path))?;
            return verify_inrelease(&bytes, &options.keyring, &what);
        }
    }
    let offline_error = || DebianError::OfflineIndex {
        release: pinned.map_or_else(|| "(none pinned)".into(), |p| format!("sha256:{p}")),
    };
    if options.offline {
        return match pinned {
            // A lock pins a release the store lacks: another one would not match its pins.
            Some(_) => Err(offline_error()),
            None => newest_cached_release(store, options, &what)?.ok_or_else(offline_error),
        };
    }
    let mut bytes = Vec::new();
    if let Err(err) = download(&what, &mut bytes, &|_, _| {}) {
        // No network: the newest release the store has still serves an unpinned caller.
        if pinned.is_none() {
            if let Some(release) = newest_cached_release(store, options, &what)? {
                return Ok(release);
            }
        }
        return Err(err);
    }
    let release = verify_inrelease(&bytes, &options.keyring, &what)?;
    let drv = fixed(&inrelease_name(options), &release.inrelease_sha256);
    // A dry run's store is read-only: the index serves it from memory, uncached.
    if !store.is_read_only() {
        store.add(&drv.id().0, &drv.name, &[], None, |out| {
            std::fs::write(out, &bytes).map_err(|e| kiln_store::BuildError::message(e.to_string()))
        })?;
    }
    Ok(release)
}

/// The most recently cached `InRelease` of the suite, verified again.
fn newest_cached_release(
    store: &Store,
    options: &ArchiveOptions,
    what: &str,
) -> DebianResult<Option<Release>> {
    let name = inrelease_name(options);
    let newest = store
        .list()?
        .into_iter()
        .filter(|info| info.entry.name() == name)
        .filter_map(|info| {
            let path = store.path(&info.entry);
            let modified = std::fs::symlink_metadata(&path).ok()?.modified().ok()?;
            Some((modified, path))
        })
        .max();
    let Some((_, path)) = newest else {
        return Ok(None);
    };
    let bytes = std::fs::read(&path).map_err(DebianError::io("read", &path))?;
    verify_inrelease(&bytes, &options.keyring, what).map(Some)
}

fn load_packages(
    store: &Store,
    options: &ArchiveOptions,
    release: &Release,
    component: &str,
) -> DebianResult<Vec<Package>> {
    let base = format!("{component}/binary-{}/Packages", options.architecture);
    let what = format!("{}/dists/{}/{base}", options.mirror, options.suite);
    let plain = release.file(&base)?;
    let drv = fixed(
        &format!(
            "debian-{}-{component}-{}-Packages",
            options.suite, options.architecture
        ),
        &plain.sha256,
    );
    let entry = drv.entry()?;
    let text = if store.contains(&entry) {
        let path = store.path(&entry);
        std::fs::read(&path).map_err(DebianError::io("read", &path))?
    } else if options.offline {
        return Err(DebianError::OfflineIndex {
            release: format!("sha256:{}", release.inrelease_sha256),
        });
    } else {
        let xz = release.file(&format!("{base}.xz"))?;
        let url = format!("{what}.xz");
        let mut compressed = Vec::new();
        download(&url, &mut compressed, &|_, _| {})?;
        check(&url, &compressed, xz.size, &xz.sha256)?;
        let mut text = Vec::with_capacity(usize::try_from(plain.size).unwrap_or(0));
        crate::unpack::xz_reader(compressed.as_slice())
            .map_err(|message| DebianError::Parse {
                what: url.clone(),
                line: 0,
                message,
            })?
            .take(plain.size.saturating_add(1))
            .read_to_end(&mut text)
            .map_err(|e| DebianError::Parse {
                what: url.clone(),
                line: 0,
                message: format!("cannot decompress: {e}"),
            })?;
        check(&what, &text, plain.size, &plain.sha256)?;
        if !store.is_read_only() {
            store.add(&drv.id().0, &drv.name, &[], None, |out| {
                std::fs::write(out, &text)
                    .map_err(|e| kiln_store::BuildError::message(e.to_string()))
            })?;
        }
        text
    };
    let text = String::from_utf8(text).map_err(|_| DebianError::Parse {
        what: what.clone(),
        line: 0,
        message: "the index is not UTF-8".into(),
    })?;
    parse_packages(&text, &what)
}

/// Checks bytes against the size and SHA-256 the signed release promises.
pub(crate) fn check(what: &str, bytes: &[u8], size: u64, sha256: &str) -> DebianResult<()> {
    let actual_size = bytes.len() as u64;
    if actual_size != size {
        return Err(DebianError::SizeMismatch {
            what: what.to_string(),
            expected: size,
            actual: actual_size,
        });
    }
    let actual = sha256_hex(bytes);
    if actual != sha256 {
        return Err(DebianError::HashMismatch {
            what: what.to_string(),
            expected: format!("sha256:{sha256}"),
            actual: format!("sha256:{actual}"),
        });
    }
    Ok(())
}
