//! `kiln.lock`: the Debian packages a profile uses, pinned, in a text format made for diffs.
//!
//! ```text
//! # kiln.lock: Debian packages pinned by kiln. Generated; review changes in diffs.
//! lock-version = 1
//! suite = bookworm
//! components = main contrib non-free non-free-firmware
//! architecture = amd64
//! release = sha256:<hash of the InRelease the pins came from>
//! set-essential = base-files base-passwd bash ...
//!
//! request = busybox-static
//!
//! [[package]]
//! name = busybox-static
//! version = 1:1.35.0-4+b3
//! architecture = amd64
//! filename = pool/main/b/busybox/busybox-static_1.35.0-4+b3_amd64.deb
//! size = 1234
//! sha256 = <hex>
//! depends = libc6
//! installed-size = 2000
//! ```
//!
//! One field per line, requests and packages sorted by name, so that a change touches only the
//! lines it must. `request` lines are the names asked for; packages are their closure. Like
//! Cargo.lock: [`Lock::missing`] tells which names a build needs that the lock lacks,
//! [`Lock::add`] pins them (keeping every existing pin), [`Lock::require`] makes a gap an error
//! (`--locked`), and [`Lock::update`] re-pins everything to the archive's current versions.

use crate::archive::{open_index, ArchiveOptions, Index};
use crate::error::{DebianError, DebianResult};
use crate::packages::{checked_filename, Package};
use crate::resolve::{resolve, ResolveOptions};
use crate::version::Version;
use kiln_store::Store;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::Path;

const HEADER: &str =
    "# kiln.lock: Debian packages pinned by kiln. Generated; review changes in diffs.";

/// A parsed `kiln.lock`.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Lock {
    pub suite: String,
    pub components: Vec<String>,
    pub architecture: String,
    /// SHA-256 (hex) of the `InRelease` the pins were resolved against.
    pub release: String,
    /// Package sets of the release a profile asked for by kind (`essential`, `required`; see
    /// `Index::package_set`), recorded when first computed, so that evaluating offline needs
    /// no index. Their packages are pinned like any other.
    pub sets: BTreeMap<String, Vec<String>>,
    /// Names asked for; `packages` is their closure.
    pub requests: BTreeSet<String>,
    pub packages: BTreeMap<String, LockedPackage>,
}

/// One pinned package: enough to fetch and check its `.deb` with no index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LockedPackage {
    pub name: String,
    pub version: Version,
    pub architecture: String,
    pub filename: String,
    pub size: u64,
    pub sha256: String,
    /// The packages of the closure that satisfy its `Pre-Depends` and `Depends`, sorted: the
    /// lock's dependency edges, so closures need no index (the live root's package set).
    pub depends: Vec<String>,
    /// `Installed-Size` in KiB, for `kiln build --dry-run`'s totals.
    pub installed_size: Option<u64>,
}

impl From<&Package> for LockedPackage {
    fn from(p: &Package) -> LockedPackage {
        LockedPackage {
            name: p.name.clone(),
            version: p.version.clone(),
            architecture: p.architecture.clone(),
            filename: p.filename.clone(),
            size: p.size,
            sha256: p.sha256.clone(),
            depends: Vec::new(),
            installed_size: p.installed_size,
        }
    }
}

/// The names in `closure` that satisfy `package`'s dependency groups: per group, the first
/// alternative present in the closure by name, else a closure package providing it.
fn closure_edges(package: &Package, closure: &BTreeMap<String, Package>) -> Vec<String> {
    let mut edges = BTreeSet::new();
    for group in package.pre_depends.iter().chain(&package.depends) {
        let found = group.0.iter().find_map(|relation| {
            if closure.contains_key(&relation.name) {
                return Some(relation.name.clone());
            }
            closure
                .values()
                .find(|p| p.provides.iter().any(|prov| prov.name == relation.name))
                .map(|p| p.name.clone())
        });
        if let Some(name) = found.filter(|name| *name != package.name) {
            edges.insert(name);
        }
    }
    edges.into_iter().collect()
}

impl Lock {
    /// The closure of `names` over the lock's dependency edges, sorted; names the lock does not
    /// pin are reported as missing.
    pub fn closure(&self, names: &[String]) -> DebianResult<Vec<String>> {
        self.require(names)?;
        let mut seen: BTreeSet<String> = BTreeSet::new();
        let mut todo: Vec<String> = names.to_vec();
        while let Some(name) = todo.pop() {
            if !seen.insert(name.clone()) {
                continue;
            }
            if let Some(package) = self.packages.get(&name) {
                todo.extend(
                    package
                        .depends
                        .iter()
                        .filter(|d| !seen.contains(*d))
                        .cloned(),
                );
            }
        }
        Ok(seen.into_iter().collect())
    }
}

/// A pin that [`Lock::update`] or [`Lock::add`] changed; `None` is absent on that side.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    pub name: String,
    pub old: Option<String>,
    pub new: Option<String>,
}

impl Lock {
    /// A fresh lock of `names` and their closure.
    pub fn resolve(index: &Index, names: &[String]) -> DebianResult<Lock> {
        let mut lock = Lock {
            suite: index.suite.clone(),
            components: index.components.clone(),
            architecture: index.architecture.clone(),
            ..Lock::default()
        };
        lock.add(index, names)?;
        Ok(lock)
    }

    /// The names in `names` that no package of the lock pins, sorted and deduplicated.
    pub fn missing(&self, names: &[String]) -> Vec<String> {
        let missing: BTreeSet<&String> = names
            .iter()
            .filter(|n| !self.packages.contains_key(n.as_str()))
            .collect();
        missing.into_iter().cloned().collect()
    }

    /// `--locked`: an error naming every package of `names` the lock lacks.
    pub fn require(&self, names: &[String]) -> DebianResult<()> {
        let missing = self.missing(names);
        if missing.is_empty() {
            Ok(())
        } else {
            Err(DebianError::LockMissing { missing })
        }
    }

    /// Requests `names` and pins their closure, keeping existing pins the index still has.
    /// Returns what changed (new packages, and any pin the index no longer offered).
    pub fn add(&mut self, index: &Index, names: &[String]) -> DebianResult<Vec<Change>> {
        let options = ResolveOptions {
            with_essential: false,
            pinned: self
                .packages
                .iter()
                .map(|(name, p)| (name.clone(), p.version.clone()))
                .collect(),
        };
        self.requests.extend(names.iter().cloned());
        self.repin(index, &options)
    }

    /// What `kiln build` does with the package names a profile uses: nothing when the lock
    /// pins them all; with `locked`, a `LockMissing` error naming the gaps; otherwise it opens
    /// the index (the lock's own release when the store has it, so no network is needed),
    /// pins the missing names with [`Lock::add`] and returns what changed, for the caller to
    /// report and write back.
    pub fn ensure(
        &mut self,
        store: &Store,
        options: &ArchiveOptions,
        names: &[String],
        locked: bool,
    ) -> DebianResult<Vec<Change>> {
        let missing = self.missing(names);
        if missing.is_empty() {
            return Ok(Vec::new());
        }
        if locked {
            return Err(DebianError::LockMissing { missing });
        }
        let pinned = Some(self.release.as_str()).filter(|r| !r.is_empty());
        let index = open_index(store, options, pinned)?;
        self.add(&index, &missing)
    }

    /// Re-resolves every request against the index's current versions.
    pub fn update(&mut self, index: &Index) -> DebianResult<Vec<Change>> {
        self.repin(index, &ResolveOptions::default())
    }

    fn repin(&mut self, index: &Index, options: &ResolveOptions) -> DebianResult<Vec<Change>> {
        let requests: Vec<String> = self.requests.iter().cloned().collect();
        let closure = resolve(index, &requests, options)?;
        let packages: BTreeMap<String, LockedPackage> = closure
            .iter()
            .map(|(name, p)| {
                let mut locked = LockedPackage::from(p);
                locked.depends = closure_edges(p, &closure);
                (name.clone(), locked)
            })
            .collect();
        let names: BTreeSet<&String> = packages.keys().chain(self.packages.keys()).collect();
        let changes = names
            .into_iter()
            .filter_map(|name| {
                let old = self.packages.get(name);
                let new = packages.get(name);
                (old != new).then(|| Change {
                    name: name.clone(),
                    old: old.map(|p| p.version.to_string()),
                    new: new.map(|p| p.version.to_string()),
                })
            })
            .collect();
        self.packages = packages;
        // Sets recorded from another release are that release's: recomputed from the new one
        // when next asked for. (Pinning more names from the same release keeps them.)
        if self.release != index.release.inrelease_sha256 {
            self.sets.clear();
        }
        self.release = index.release.inrelease_sha256.clone();
        self.suite = index.suite.clone();
        self.components = index.components.clone();
        self.architecture = index.architecture.clone();
        Ok(changes)
    }

    /// The lockfile's text (see the module comment).
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "{HEADER}");
        let _ = writeln!(out, "lock-version = 1");
        let _ = writeln!(out, "suite = {}", self.suite);
        let _ = writeln!(out, "components = {}", self.components.join(" "));
        let _ = writeln!(out, "architecture = {}", self.architecture);
        let _ = writeln!(out, "release = sha256:{}", self.release);
        for (kind, names) in &self.sets {
            let _ = writeln!(out, "set-{kind} = {}", names.join(" "));
        }
        if !self.requests.is_empty() {
            out.push('\n');
        }
        for request in &self.requests {
            let _ = writeln!(out, "request = {request}");
        }
        for p in self.packages.values() {
            let _ = write!(
                out,
                "\n[[package]]\nname = {}\nversion = {}\narchitecture = {}\nfilename = {}\nsize = {}\nsha256 = {}\n",
                p.name, p.version, p.architecture, p.filename, p.size, p.sha256
            );
            if !p.depends.is_empty() {
                let _ = writeln!(out, "depends = {}", p.depends.join(" "));
            }
            if let Some(kib) = p.installed_size {
                let _ = writeln!(out, "installed-size = {kib}");
            }
        }
        out
    }

    /// Parses a lockfile's text; `path` names it in errors.
    pub fn parse(text: &str, path: &str) -> DebianResult<Lock> {
        let mut lock = Lock::default();
        let mut fields: Option<(usize, BTreeMap<&str, &str>)> = None;
        let mut seen_version = false;
        for (line_idx, line) in text.lines().enumerate() {
            let line_no = line_idx + 1;
            let error = |message: String| DebianError::BadLock {
                path: path.to_string(),
                line: line_no,
                message,
            };
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            if line == "[[package]]" {
                if let Some((start, map)) = fields.take() {
                    lock.insert(package_from(&map, path, start)?, path, start)?;
                }
                fields = Some((line_no, BTreeMap::new()));
                continue;
            }
            let Some((key, value)) = line.split_once('=') else {
                return Err(error(format!("expected `key = value`, found `{line}`")));
            };
            let (key, value) = (key.trim(), value.trim());
            if let Some((_, map)) = fields.as_mut() {
                if map.insert(key, value).is_some() {
                    return Err(error(format!("`{key}` appears twice in one package")));
                }
                continue;
            }
            match key {
                "lock-version" if value == "1" => seen_version = true,
                "lock-version" => return Err(error(format!("unknown lock version `{value}`"))),
                "suite" => lock.suite = value.to_string(),
                "components" => {
                    lock.components = value.split_whitespace().map(String::from).collect();
                }
                "architecture" => lock.architecture = value.to_string(),
                "release" => {
                    lock.release = value
                        .strip_prefix("sha256:")
                        .filter(|h| is_sha256(h) || h.is_empty())
                        .ok_or_else(|| error("`release` is not `sha256:<hex>`".into()))?
                        .to_string();
                }
                "request" => {
                    lock.requests.insert(value.to_string());
                }
                _ if key.starts_with("set-") => {
                    let names = value.split_whitespace().map(String::from).collect();
                    lock.sets.insert(key["set-".len()..].to_string(), names);
                }
                _ => return Err(error(format!("unknown field `{key}`"))),
            }
        }
        if let Some((start, map)) = fields {
            lock.insert(package_from(&map, path, start)?, path, start)?;
        }
        if !seen_version {
            return Err(DebianError::BadLock {
                path: path.to_string(),
                line: 1,
                message: "no `lock-version = 1` line".into(),
            });
        }
        Ok(lock)
    }

    fn insert(&mut self, package: LockedPackage, path: &str, line: usize) -> DebianResult<()> {
        if self.packages.contains_key(&package.name) {
            return Err(DebianError::BadLock {
                path: path.to_string(),
                line,
                message: format!("`{}` is pinned twice", package.name),
            });
        }
        self.packages.insert(package.name.clone(), package);
        Ok(())
    }

    /// Reads `path`; `Ok(None)` when it does not exist.
    pub fn read(path: &Path) -> DebianResult<Option<Lock>> {
        match std::fs::read_to_string(path) {
            Ok(text) => Lock::parse(&text, &path.display().to_string()).map(Some),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(DebianError::io("read", path)(e)),
        }
    }

    /// Writes `path` atomically (a temporary file renamed over it), replacing whatever is
    /// there: `kiln lock --update`. Under the lock of `path`'s directory, as every write is.
    pub fn write(&self, path: &Path) -> DebianResult<()> {
        update_locked(path, |_| Ok(self.clone())).map(|_| ())
    }

    /// Writes what this lock changed relative to `base` (the lock as it was read) into `path`:
    /// under the lock of `path`'s directory, it re-reads `path`, merges (see [`Lock::merge`])
    /// and renames the result into place, so two kilns adding different packages to one lock
    /// both keep their additions. Returns the lock written.
    pub fn write_merged(&self, path: &Path, base: &Lock) -> DebianResult<Lock> {
        update_locked(path, |current| {
            Ok(match current {
                Some(theirs) => Lock::merge(base, self, &theirs),
                None => self.clone(),
            })
        })
    }

    /// A three-way merge: `theirs` (the file now) with what `ours` changed relative to `base`.
    /// Requests and pins ours added are added; a pin or set ours changed is taken where theirs
    /// still has base's; where both changed one, theirs (written first) wins. The release and
    /// archive fields are ours only if theirs kept base's.
    pub fn merge(base: &Lock, ours: &Lock, theirs: &Lock) -> Lock {
        let mut out = theirs.clone();
        if theirs.release == base.release && ours.release != base.release {
            out.release = ours.release.clone();
            out.suite = ours.suite.clone();
            out.components = ours.components.clone();
            out.architecture = ours.architecture.clone();
        }
        out.requests
            .extend(ours.requests.difference(&base.requests).cloned());
        merge_map(
            &mut out.packages,
            &base.packages,
            &ours.packages,
            &theirs.packages,
        );
        merge_map(&mut out.sets, &base.sets, &ours.sets, &theirs.sets);
        out
    }
}

/// Per key of a map: ours where ours changed it and theirs did not.
fn merge_map<V: Clone + PartialEq>(
    out: &mut BTreeMap<String, V>,
    base: &BTreeMap<String, V>,
    ours: &BTreeMap<String, V>,
    theirs: &BTreeMap<String, V>,
) {
    let keys: BTreeSet<&String> = base.keys().chain(ours.keys()).collect();
    for key in keys {
        let (b, o, t) = (base.get(key), ours.get(key), theirs.get(key));
        if o == b || t != b {
            continue;
        }
        match o {
            Some(value) => out.insert(key.clone(), value.clone()),
            None => out.remove(key),
        };
    }
}

/// Replaces the lock file at `path` with what `update` makes of its current contents, holding
/// an exclusive `flock` on its directory meanwhile. The directory, not the file: the file is
/// replaced by a rename, and a lock on a replaced inode protects nothing. The temporary file has
/// a fixed name, safe under the lock, so a killed writer leaves one file for the next to reuse.
fn update_locked(
    path: &Path,
    update: impl FnOnce(Option<Lock>) -> DebianResult<Lock>,
) -> DebianResult<Lock> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let handle = std::fs::File::open(dir).map_err(DebianError::io("open", dir))?;
    loop {
        match rustix::fs::flock(&handle, rustix::fs::FlockOperation::LockExclusive) {
            Ok(()) => break,
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => return Err(DebianError::io("lock", dir)(e.into())),
        }
    }
    let lock = update(Lock::read(path)?)?;
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = std::path::PathBuf::from(tmp);
    std::fs::write(&tmp, lock.to_text()).map_err(DebianError::io("write", &tmp))?;
    std::fs::rename(&tmp, path).map_err(DebianError::io("write", path))?;
    drop(handle);
    Ok(lock)
}

fn is_sha256(hex: &str) -> bool {
    hex.len() == 64 && hex.bytes().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f'))
}

fn package_from(
    map: &BTreeMap<&str, &str>,
    path: &str,
    line: usize,
) -> DebianResult<LockedPackage> {
    let error = |message: String| DebianError::BadLock {
        path: path.to_string(),
        line,
        message,
    };
    let field = |key: &str| {
        map.get(key)
            .copied()
            .filter(|v| !v.is_empty())
            .ok_or_else(|| error(format!("the package has no `{key}`")))
    };
    if let Some(key) = map.keys().find(|k| {
        ![
            "name",
            "version",
            "architecture",
            "filename",
            "size",
            "sha256",
            "depends",
            "installed-size",
        ]
        .contains(k)
    }) {
        return Err(error(format!("unknown package field `{key}`")));
    }
    let name = field("name")?.to_string();
    let sha256 = field("sha256")?.to_string();
    if !is_sha256(&sha256) {
        return Err(error(format!(
            "`{name}`: sha256 is not 64 lowercase hex digits"
        )));
    }
    Ok(LockedPackage {
        version: Version::parse(field("version")?).map_err(|e| error(e.to_string()))?,
        architecture: field("architecture")?.to_string(),
        filename: checked_filename(field("filename")?).map_err(error)?,
        size: field("size")?
            .parse()
            .map_err(|_| error(format!("`{name}`: size is not a number")))?,
        sha256,
        installed_size: match map.get("installed-size") {
            Some(kib) => Some(
                kib.parse()
                    .map_err(|_| error(format!("`{name}`: installed-size is not a number")))?,
            ),
            None => None,
        },
        depends: map
            .get("depends")
            .map(|d| d.split_whitespace().map(String::from).collect())
            .unwrap_or_default(),
        name,
    })
}
