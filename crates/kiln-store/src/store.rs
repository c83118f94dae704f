//! The on-disk store: immutable entries `<base32>-<name>` under one root.
//!
//! Layout of a store root:
//!
//! ```text
//! <root>/<base32>-<name>      an entry: a file, directory or symlink, read-only once registered
//! <root>/.meta/<entry>        its record: content hash and references (text, see `Record`)
//! <root>/.tmp/                entries being built; never read by anyone else
//! <root>/.roots/<n>           symlinks to `result` links that keep entries alive across `gc`
//! ```
//!
//! **Invariant:** an entry exists for readers exactly when its record exists. An entry is built
//! in `.tmp`, hashed, made read-only and renamed into place; only then is its record renamed
//! into `.meta`. A crash in between leaves an unregistered directory that the next `add` of
//! the same entry, or `gc`, removes.

use crate::digest::{hash_tree, Digest};
use crate::error::{BuildError, StoreError, StoreResult};
use rayon::prelude::*;
use std::fs;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// A store entry's file name, `<base32>-<name>`; checked at construction.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EntryName(String);

impl EntryName {
    /// The entry for `name` under the content-or-description hash `key`.
    pub fn new(key: &Digest, name: &str) -> StoreResult<EntryName> {
        check_name(name)?;
        Ok(EntryName(format!("{}-{}", key.to_store_base32(), name)))
    }

    /// Parses an existing entry's file name.
    pub fn parse(entry: &str) -> StoreResult<EntryName> {
        let invalid = || StoreError::InvalidName {
            name: entry.to_string(),
        };
        let (hash, name) = entry.split_once('-').ok_or_else(invalid)?;
        if hash.len() != 32 || !hash.bytes().all(|c| c.is_ascii_alphanumeric()) {
            return Err(invalid());
        }
        check_name(name)?;
        Ok(EntryName(entry.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The human part after the hash.
    pub fn name(&self) -> &str {
        &self.0[33..]
    }
}

impl std::fmt::Display for EntryName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Nix's rule for store path names, so names survive being handed to Nix tools.
fn check_name(name: &str) -> StoreResult<()> {
    let ok = !name.is_empty()
        && name.len() <= 200
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || b"+-._?=".contains(&c));
    if ok {
        Ok(())
    } else {
        Err(StoreError::InvalidName {
            name: name.to_string(),
        })
    }
}

/// What the store knows about a registered entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EntryInfo {
    pub entry: EntryName,
    /// The canonical hash of the entry's contents at registration ([`hash_tree`]).
    pub content: Digest,
    /// Entries this one needs at run time; `gc` keeps them alive with it.
    pub references: Vec<EntryName>,
}

/// A problem `verify` found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Damage {
    pub entry: EntryName,
    pub problem: String,
    /// Whether `verify --repair` removed the entry (the next build re-creates it).
    pub removed: bool,
}

/// What `gc` did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GcReport {
    pub removed: Vec<EntryName>,
    pub kept: usize,
}

/// A content-addressed store rooted at one directory.
#[derive(Clone, Debug)]
pub struct Store {
    root: PathBuf,
}

static TMP_COUNTER: AtomicU64 = AtomicU64::new(0);

impl Store {
    /// `$KILN_STORE`, else `$XDG_CACHE_HOME/kiln/store`, else `~/.cache/kiln/store`.
    pub fn default_root() -> PathBuf {
        if let Some(dir) = std::env::var_os("KILN_STORE").filter(|v| !v.is_empty()) {
            return PathBuf::from(dir);
        }
        let cache = std::env::var_os("XDG_CACHE_HOME")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
            .unwrap_or_else(|| PathBuf::from("/tmp"));
        cache.join("kiln/store")
    }

    /// Opens (creating if needed) the store at `root`.
    pub fn open(root: impl Into<PathBuf>) -> StoreResult<Store> {
        let root = root.into();
        for dir in [
            root.clone(),
            root.join(".meta"),
            root.join(".tmp"),
            root.join(".roots"),
        ] {
            fs::create_dir_all(&dir).map_err(StoreError::io("create", &dir))?;
        }
        let root = root
            .canonicalize()
            .map_err(StoreError::io("resolve", &root))?;
        Ok(Store { root })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where `entry` lives (whether or not it is registered).
    pub fn path(&self, entry: &EntryName) -> PathBuf {
        self.root.join(entry.as_str())
    }

    fn record_path(&self, entry: &EntryName) -> PathBuf {
        self.root.join(".meta").join(entry.as_str())
    }

    /// Whether `entry` is registered.
    pub fn contains(&self, entry: &EntryName) -> bool {
        self.record_path(entry).is_file()
    }

    /// The record of a registered entry; `None` if it is not registered.
    pub fn info(&self, entry: &EntryName) -> StoreResult<Option<EntryInfo>> {
        let path = self.record_path(entry);
        match fs::read_to_string(&path) {
            Ok(text) => parse_record(entry, &text).map(Some),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(StoreError::io("read", path)(e)),
        }
    }

    /// Registers the entry `<key>-<name>`, calling `build` to fill a fresh temporary path
    /// (which `build` creates as a file, directory or symlink) unless it is already there.
    /// `expected` checks the content hash of what `build` produced (fixed outputs).
    pub fn add(
        &self,
        key: &Digest,
        name: &str,
        references: &[EntryName],
        expected: Option<&Digest>,
        build: impl FnOnce(&Path) -> Result<(), BuildError>,
    ) -> StoreResult<EntryName> {
        let entry = EntryName::new(key, name)?;
        if self.contains(&entry) {
            return Ok(entry);
        }
        let tmp = self.root.join(".tmp").join(format!(
            "{}.{}.{}",
            entry,
            std::process::id(),
            TMP_COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let result = self.add_from_tmp(&entry, &tmp, references, expected, build);
        if tmp.exists() || fs::symlink_metadata(&tmp).is_ok() {
            let _ = remove_tree(&tmp);
        }
        result.map(|()| entry)
    }

    fn add_from_tmp(
        &self,
        entry: &EntryName,
        tmp: &Path,
        references: &[EntryName],
        expected: Option<&Digest>,
        build: impl FnOnce(&Path) -> Result<(), BuildError>,
    ) -> StoreResult<()> {
        build(tmp).map_err(|source| StoreError::BuildFailed {
            name: entry.name().to_string(),
            source,
        })?;
        if fs::symlink_metadata(tmp).is_err() {
            return Err(StoreError::BuildFailed {
                name: entry.name().to_string(),
                source: BuildError::message("the builder produced no output"),
            });
        }
        let content = hash_tree(tmp).map_err(StoreError::io("hash", tmp))?;
        if let Some(expected) = expected {
            if *expected != content {
                return Err(StoreError::HashMismatch {
                    name: entry.name().to_string(),
                    expected: expected.to_string(),
                    actual: content.to_string(),
                });
            }
        }
        make_read_only(tmp).map_err(StoreError::io("seal", tmp))?;
        let dest = self.path(entry);
        if fs::symlink_metadata(&dest).is_ok() {
            if self.contains(entry) {
                // Another process registered it meanwhile; its copy is as good as ours.
                return Ok(());
            }
            remove_tree(&dest).map_err(StoreError::io("remove the unregistered", &dest))?;
        }
        // Moving a directory to another parent rewrites its `..`, which needs write permission
        // on the directory itself unless the process is root: the sealed top gets it back for
        // the move only. The entry is not registered until its record is written below.
        let top = fs::symlink_metadata(tmp).map_err(StoreError::io("seal", tmp))?;
        if top.is_dir() {
            let mode = top.permissions().mode();
            fs::set_permissions(tmp, fs::Permissions::from_mode(mode | 0o200))
                .map_err(StoreError::io("seal", tmp))?;
            fs::rename(tmp, &dest).map_err(StoreError::io("move into place", &dest))?;
            fs::set_permissions(&dest, fs::Permissions::from_mode(mode))
                .map_err(StoreError::io("seal", &dest))?;
        } else {
            fs::rename(tmp, &dest).map_err(StoreError::io("move into place", &dest))?;
        }
        let info = EntryInfo {
            entry: entry.clone(),
            content,
            references: references.to_vec(),
        };
        self.write_record(&info)
    }

    fn write_record(&self, info: &EntryInfo) -> StoreResult<()> {
        let record = self.record_path(&info.entry);
        let tmp = record.with_extension(format!("tmp{}", std::process::id()));
        fs::write(&tmp, format_record(info)).map_err(StoreError::io("write", &tmp))?;
        fs::rename(&tmp, &record).map_err(StoreError::io("register", &record))
    }

    /// Every registered entry, sorted by name.
    pub fn list(&self) -> StoreResult<Vec<EntryInfo>> {
        let dir = self.root.join(".meta");
        let mut names = Vec::new();
        for item in fs::read_dir(&dir).map_err(StoreError::io("list", &dir))? {
            let item = item.map_err(StoreError::io("list", &dir))?;
            let file_name = item.file_name();
            let Some(file_name) = file_name.to_str() else {
                continue;
            };
            if let Ok(entry) = EntryName::parse(file_name) {
                names.push(entry);
            }
        }
        names.sort();
        names
            .iter()
            .filter_map(|e| self.info(e).transpose())
            .collect()
    }

    /// Re-hashes every entry in parallel; with `repair`, removes damaged ones so the next
    /// build re-creates them.
    pub fn verify(&self, repair: bool) -> StoreResult<Vec<Damage>> {
        let entries = self.list()?;
        let mut damage: Vec<Damage> = entries
            .par_iter()
            .filter_map(|info| {
                let path = self.path(&info.entry);
                let problem = match hash_tree(&path) {
                    Ok(actual) if actual == info.content => return None,
                    Ok(actual) => format!("content is {actual}, recorded {}", info.content),
                    Err(e) => format!("cannot read it: {e}"),
                };
                let removed = repair && self.remove_entry(&info.entry).is_ok();
                Some(Damage {
                    entry: info.entry.clone(),
                    problem,
                    removed,
                })
            })
            .collect();
        damage.sort_by(|a, b| a.entry.cmp(&b.entry));
        Ok(damage)
    }

    /// Keeps the entry that `link` (a `result` symlink) points to alive across `gc`, for as
    /// long as `link` points into the store.
    pub fn add_root(&self, link: &Path) -> StoreResult<()> {
        let link = std::path::absolute(link).map_err(StoreError::io("resolve", link))?;
        let key = Digest::of(link.as_os_str().as_encoded_bytes()).to_store_base32();
        let root = self.root.join(".roots").join(key);
        let tmp = root.with_extension("tmp");
        let _ = fs::remove_file(&tmp);
        std::os::unix::fs::symlink(&link, &tmp).map_err(StoreError::io("create root", &tmp))?;
        fs::rename(&tmp, &root).map_err(StoreError::io("create root", &root))
    }

    /// The entries the registered roots still point to.
    fn live_roots(&self) -> StoreResult<Vec<EntryName>> {
        let dir = self.root.join(".roots");
        let mut live = Vec::new();
        for item in fs::read_dir(&dir).map_err(StoreError::io("list", &dir))? {
            let root = item.map_err(StoreError::io("list", &dir))?.path();
            let target = fs::read_link(&root)
                .ok()
                .and_then(|link| fs::read_link(link).ok());
            let entry = target.as_deref().and_then(|t| self.entry_of(t));
            match entry {
                Some(entry) => live.push(entry),
                // The result link is gone or points elsewhere: the root is stale.
                None => {
                    let _ = fs::remove_file(&root);
                }
            }
        }
        Ok(live)
    }

    /// The entry a path inside the store belongs to.
    pub fn entry_of(&self, path: &Path) -> Option<EntryName> {
        let rest = path.strip_prefix(&self.root).ok()?;
        let first = rest.components().next()?.as_os_str().to_str()?;
        EntryName::parse(first).ok()
    }

    /// Removes every entry not reachable from a root through references, and leftovers of
    /// interrupted builds.
    pub fn gc(&self) -> StoreResult<GcReport> {
        let entries = self.list()?;
        let mut live: std::collections::BTreeSet<EntryName> = std::collections::BTreeSet::new();
        let mut stack = self.live_roots()?;
        while let Some(entry) = stack.pop() {
            if !live.insert(entry.clone()) {
                continue;
            }
            if let Some(info) = self.info(&entry)? {
                stack.extend(info.references);
            }
        }
        let mut report = GcReport::default();
        for info in entries {
            if live.contains(&info.entry) {
                report.kept += 1;
            } else {
                self.remove_entry(&info.entry)?;
                report.removed.push(info.entry);
            }
        }
        self.remove_leftovers()?;
        Ok(report)
    }

    /// Unregisters first, so a crash never leaves a record without its entry.
    fn remove_entry(&self, entry: &EntryName) -> StoreResult<()> {
        let record = self.record_path(entry);
        fs::remove_file(&record).map_err(StoreError::io("unregister", &record))?;
        let path = self.path(entry);
        remove_tree(&path).map_err(StoreError::io("remove", &path))
    }

    fn remove_leftovers(&self) -> StoreResult<()> {
        for item in fs::read_dir(&self.root).map_err(StoreError::io("list", &self.root))? {
            let item = item.map_err(StoreError::io("list", &self.root))?;
            let name = item.file_name();
            let Some(name) = name.to_str() else { continue };
            if let Ok(entry) = EntryName::parse(name) {
                if !self.contains(&entry) {
                    remove_tree(&item.path()).map_err(StoreError::io("remove", item.path()))?;
                }
            }
        }
        Ok(())
    }
}

fn format_record(info: &EntryInfo) -> String {
    let mut out = format!("kiln-store-entry 1\ncontent {}\n", info.content);
    for reference in &info.references {
        out.push_str("reference ");
        out.push_str(reference.as_str());
        out.push('\n');
    }
    out
}

fn parse_record(entry: &EntryName, text: &str) -> StoreResult<EntryInfo> {
    let bad = |reason: &str| StoreError::BadRecord {
        entry: entry.to_string(),
        reason: reason.to_string(),
    };
    let mut lines = text.lines();
    if lines.next() != Some("kiln-store-entry 1") {
        return Err(bad("unknown format"));
    }
    let mut content = None;
    let mut references = Vec::new();
    for line in lines {
        match line.split_once(' ') {
            Some(("content", value)) => {
                let hex = value
                    .strip_prefix("blake3:")
                    .ok_or_else(|| bad("content is not a blake3 hash"))?;
                content =
                    Some(Digest::from_hex(hex).ok_or_else(|| bad("content hash is malformed"))?);
            }
            Some(("reference", value)) => references.push(EntryName::parse(value)?),
            _ => return Err(bad("unknown line")),
        }
    }
    let content = content.ok_or_else(|| bad("no content hash"))?;
    Ok(EntryInfo {
        entry: entry.clone(),
        content,
        references,
    })
}

/// Entries are read-only so a stray write cannot change what their hash promises.
fn make_read_only(path: &Path) -> io::Result<()> {
    let meta = fs::symlink_metadata(path)?;
    if meta.file_type().is_symlink() {
        return Ok(());
    }
    if meta.is_dir() {
        for item in fs::read_dir(path)? {
            make_read_only(&item?.path())?;
        }
    }
    let mode = meta.permissions().mode() & !0o222;
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
}

/// Removes a tree that may be read-only.
fn remove_tree(path: &Path) -> io::Result<()> {
    let meta = fs::symlink_metadata(path)?;
    if meta.is_dir() {
        fs::set_permissions(
            path,
            fs::Permissions::from_mode(meta.permissions().mode() | 0o700),
        )?;
        fs::remove_dir_all(path).or_else(|_| {
            for item in fs::read_dir(path)? {
                remove_tree(&item?.path())?;
            }
            fs::remove_dir(path)
        })
    } else {
        fs::remove_file(path)
    }
}
