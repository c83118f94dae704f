//! The on-disk store: immutable entries `<base32>-<name>` under one root.
//!
//! Layout of a store root:
//!
//! ```text
//! <root>/<base32>-<name>        an entry: a file, directory or symlink, read-only once registered
//! <root>/.meta/<entry>          its record: format, content hash, references (see `format_record`)
//! <root>/.tmp/<token>/          one running kiln's temporaries: builds, records, `--check` scratch
//! <root>/.roots/<n>             symlinks to `result` links that keep entries alive across `gc`
//! <root>/.locks/gc              shared while entries are registered or rooted, exclusive for `gc`
//! <root>/.locks/entries/<entry> held while the entry is built, so it is built once
//! <root>/.locks/procs/<token>   a running kiln's registration and temporary roots
//! ```
//!
//! (`lock.rs` describes the locks.)
//!
//! **Invariant:** an entry exists for readers exactly when its record exists. An entry is built
//! in its builder's `.tmp/<token>/`, hashed, made read-only and renamed into place; only then is
//! its record renamed into `.meta`. Both renames happen under the entry's lock and the shared gc
//! lock. A crash in between leaves an unregistered directory, which the next build of that entry
//! (holding its lock) or `gc` removes; a crash anywhere leaves temporaries only in the dead
//! process's `.tmp/<token>/`, which `gc` removes, and no lock, since the kernel releases them.

use crate::digest::{hash_tree, Digest, TreeFormat};
use crate::error::{BuildError, StoreError, StoreResult};
use crate::lock::{GcLock, PathLock, Registration, LOCKS};
use std::fs;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

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
    /// The canonical hash of the entry's contents at registration ([`hash_tree`]), in `format`.
    pub content: Digest,
    /// The tree hash format of `content`: records written by an older kiln keep theirs.
    pub format: TreeFormat,
    /// Entries this one needs at run time; `gc` keeps them alive with it.
    pub references: Vec<EntryName>,
}

/// How [`Store::add_reporting`] came by an entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Added {
    /// It was registered already.
    Present,
    /// This call built it.
    Built,
    /// Another build (another process, or another thread) was building it; this call waited for
    /// it and reused its entry.
    Waited,
}

/// A content-addressed store rooted at one directory. Clones share one registration (one
/// temporary directory and set of temporary roots); it ends when the last clone drops.
#[derive(Clone, Debug)]
pub struct Store {
    root: PathBuf,
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    /// Opened for `kiln build --dry-run`: nothing is created, locked or written.
    read_only: bool,
    gc_lock: GcLock,
    /// Made when first needed, so commands that only read never register.
    registration: Mutex<Option<Arc<Registration>>>,
}

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
            root.join(LOCKS).join("procs"),
            root.join(LOCKS).join("entries"),
        ] {
            fs::create_dir_all(&dir).map_err(StoreError::io("create", &dir))?;
        }
        let root = root
            .canonicalize()
            .map_err(StoreError::io("resolve", &root))?;
        Ok(Store::with_root(root, false))
    }

    /// Opens the store at `root` for reading only (`kiln build --dry-run`): nothing is created,
    /// not even the store, and [`Store::add`] of an entry the store lacks is an error. A store
    /// that does not exist reads as empty.
    pub fn open_read_only(root: impl Into<PathBuf>) -> StoreResult<Store> {
        let root = root.into();
        let root = match root.canonicalize() {
            Ok(root) => root,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                std::path::absolute(&root).map_err(StoreError::io("resolve", &root))?
            }
            Err(e) => return Err(StoreError::io("resolve", &root)(e)),
        };
        Ok(Store::with_root(root, true))
    }

    fn with_root(root: PathBuf, read_only: bool) -> Store {
        Store {
            shared: Arc::new(Shared {
                read_only,
                gc_lock: GcLock::new(&root),
                registration: Mutex::new(None),
            }),
            root,
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn is_read_only(&self) -> bool {
        self.shared.read_only
    }

    /// Where `entry` lives (whether or not it is registered).
    pub fn path(&self, entry: &EntryName) -> PathBuf {
        self.root.join(entry.as_str())
    }

    pub(crate) fn record_path(&self, entry: &EntryName) -> PathBuf {
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

    /// This process's registration in the store, made on first use.
    pub(crate) fn registration(&self) -> StoreResult<Arc<Registration>> {
        if self.shared.read_only {
            return Err(StoreError::ReadOnly {
                root: self.root.clone(),
            });
        }
        let mut slot = self
            .shared
            .registration
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(registration) = &*slot {
            return Ok(registration.clone());
        }
        let registration = Arc::new(Registration::create(&self.root)?);
        *slot = Some(registration.clone());
        Ok(registration)
    }

    /// Ends this handle's registration (shared by its clones): removes its temporary directory
    /// and its temporary roots, as the last clone's drop would. For the end of a command, where
    /// some clone may live on in a cycle of evaluator values that is never freed; a later use
    /// registers afresh. A kiln that is killed instead leaves both for `gc`.
    pub fn end_registration(&self) {
        let ended = self
            .shared
            .registration
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        drop(ended);
    }

    pub(crate) fn gc_lock(&self) -> &GcLock {
        &self.shared.gc_lock
    }

    /// Keeps `entries` alive across `gc` for as long as this store handle (or a clone) lives,
    /// and tells which of them are registered. Both happen under the gc lock, so an entry
    /// reported present stays present: call this before reading entries another process might
    /// collect. A read-only store only answers.
    pub fn hold(&self, entries: &[EntryName]) -> StoreResult<Vec<bool>> {
        if self.shared.read_only {
            return Ok(entries.iter().map(|e| self.contains(e)).collect());
        }
        let registration = self.registration()?;
        let _shared = self.shared.gc_lock.shared()?;
        registration.add_roots(entries)?;
        Ok(entries.iter().map(|e| self.contains(e)).collect())
    }

    /// A fresh path in this process's temporary directory (for `--check`'s rebuilds): nothing
    /// else uses it, and `gc` removes it if the process dies before removing it.
    pub fn scratch(&self, name: &str) -> StoreResult<PathBuf> {
        Ok(self.registration()?.temp_path(name))
    }

    /// Removes a path [`Store::scratch`] gave, whatever the builder left in it.
    pub fn remove_scratch(&self, path: &Path) -> StoreResult<()> {
        match remove_tree(path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(StoreError::io("remove", path)(e)),
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
        self.add_reporting(key, name, references, expected, build)
            .map(|(entry, _)| entry)
    }

    /// As [`Store::add`], and says whether the entry was present, built by this call, or built
    /// by another build this call waited for. At most one build of an entry runs at a time,
    /// across every process using the store: the others wait on the entry's lock.
    pub fn add_reporting(
        &self,
        key: &Digest,
        name: &str,
        references: &[EntryName],
        expected: Option<&Digest>,
        build: impl FnOnce(&Path) -> Result<(), BuildError>,
    ) -> StoreResult<(EntryName, Added)> {
        let entry = EntryName::new(key, name)?;
        if self.hold(std::slice::from_ref(&entry))?[0] {
            return Ok((entry, Added::Present));
        }
        let registration = self.registration()?;
        let lock_path = self.root.join(LOCKS).join("entries").join(entry.as_str());
        // Try first, so the common case costs no wait; block only behind another build.
        let lock = match PathLock::acquire(&lock_path, false)
            .map_err(StoreError::io("lock", &lock_path))?
        {
            Some(lock) => lock,
            None => PathLock::acquire(&lock_path, true)
                .map_err(StoreError::io("lock", &lock_path))?
                .expect("a waiting lock is always taken"),
        };
        // Built meanwhile by another build, which held the lock or had just released it.
        if self.hold(std::slice::from_ref(&entry))?[0] {
            lock.release();
            return Ok((entry, Added::Waited));
        }
        let tmp = registration.temp_path(entry.as_str());
        let result = self.add_from_tmp(&registration, &entry, &tmp, references, expected, build);
        if fs::symlink_metadata(&tmp).is_ok() {
            let _ = remove_tree(&tmp);
        }
        lock.release();
        result.map(|()| (entry, Added::Built))
    }

    fn add_from_tmp(
        &self,
        registration: &Registration,
        entry: &EntryName,
        tmp: &Path,
        references: &[EntryName],
        expected: Option<&Digest>,
        build: impl FnOnce(&Path) -> Result<(), BuildError>,
    ) -> StoreResult<()> {
        let name = entry.name();
        build(tmp).map_err(|source| StoreError::build_failed(name, source))?;
        if fs::symlink_metadata(tmp).is_err() {
            return Err(StoreError::BuildFailed {
                name: name.to_string(),
                source: BuildError::message("the builder produced no output"),
            });
        }
        make_read_only(tmp).map_err(StoreError::io_in(name, "seal", tmp))?;
        let content = hash_tree(tmp).map_err(StoreError::io_in(name, "hash", tmp))?;
        if let Some(expected) = expected {
            if *expected != content {
                return Err(StoreError::HashMismatch {
                    name: name.to_string(),
                    expected: expected.to_string(),
                    actual: content.to_string(),
                });
            }
        }
        let info = EntryInfo {
            entry: entry.clone(),
            content,
            format: TreeFormat::CURRENT,
            references: references.to_vec(),
        };
        let record_tmp = registration.temp_path("record");
        fs::write(&record_tmp, format_record(&info)).map_err(StoreError::io_in(
            name,
            "write",
            &record_tmp,
        ))?;
        let dest = self.path(entry);
        let _shared = self.shared.gc_lock.shared()?;
        registration.add_roots(std::slice::from_ref(entry))?;
        if fs::symlink_metadata(&dest).is_ok() {
            // Under the entry's lock, an unregistered entry in place is a crashed build's.
            remove_tree(&dest).map_err(StoreError::io("remove the unregistered", &dest))?;
        }
        crate::test_hook::before_rename(&dest);
        fs::rename(tmp, &dest).map_err(StoreError::io_in(name, "move into place", &dest))?;
        let record = self.record_path(entry);
        fs::rename(&record_tmp, &record).map_err(StoreError::io_in(name, "register", &record))
    }

    /// Replaces a registered entry's record (verify's upgrade of an old record).
    pub(crate) fn rewrite_record(&self, info: &EntryInfo) -> StoreResult<()> {
        let registration = self.registration()?;
        let tmp = registration.temp_path("record");
        fs::write(&tmp, format_record(info)).map_err(StoreError::io("write", &tmp))?;
        let record = self.record_path(&info.entry);
        let _shared = self.shared.gc_lock.shared()?;
        fs::rename(&tmp, &record).map_err(StoreError::io("register", &record))
    }

    /// Every registered entry, sorted by name.
    pub fn list(&self) -> StoreResult<Vec<EntryInfo>> {
        self.registered()?
            .iter()
            .filter_map(|e| self.info(e).transpose())
            .collect()
    }

    /// The names of the registered entries (whatever their records say), sorted.
    pub(crate) fn registered(&self) -> StoreResult<Vec<EntryName>> {
        let dir = self.root.join(".meta");
        let mut names = Vec::new();
        let items = match fs::read_dir(&dir) {
            Ok(items) => items,
            Err(e) if e.kind() == io::ErrorKind::NotFound && self.shared.read_only => {
                return Ok(Vec::new())
            }
            Err(e) => return Err(StoreError::io("list", &dir)(e)),
        };
        for item in items {
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
        Ok(names)
    }

    /// Keeps the entry that `link` (a `result` symlink) points to alive across `gc`, for as
    /// long as `link` points into the store.
    pub fn add_root(&self, link: &Path) -> StoreResult<()> {
        let link = std::path::absolute(link).map_err(StoreError::io("resolve", link))?;
        let key = Digest::of(link.as_os_str().as_encoded_bytes()).to_store_base32();
        let root = self.root.join(".roots").join(key);
        let tmp = self.registration()?.temp_path("root");
        std::os::unix::fs::symlink(&link, &tmp).map_err(StoreError::io("create root", &tmp))?;
        fs::rename(&tmp, &root).map_err(StoreError::io("create root", &root))
    }

    /// The entry a path inside the store belongs to.
    pub fn entry_of(&self, path: &Path) -> Option<EntryName> {
        let rest = path.strip_prefix(&self.root).ok()?;
        let first = rest.components().next()?.as_os_str().to_str()?;
        EntryName::parse(first).ok()
    }

    /// Takes `entry`'s build lock, waiting if `wait`; `None` when not waiting and it is held.
    pub(crate) fn lock_entry(
        &self,
        entry: &EntryName,
        wait: bool,
    ) -> StoreResult<Option<PathLock>> {
        let path = self.root.join(LOCKS).join("entries").join(entry.as_str());
        PathLock::acquire(&path, wait).map_err(StoreError::io("lock", &path))
    }

    /// Unregisters first, so a crash never leaves a record without its entry. The caller holds
    /// the entry's lock.
    pub(crate) fn remove_entry(&self, entry: &EntryName) -> StoreResult<()> {
        let record = self.record_path(entry);
        match fs::remove_file(&record) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(StoreError::io("unregister", &record)(e)),
        }
        let path = self.path(entry);
        match remove_tree(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(StoreError::io("remove", &path)(e)),
        }
    }
}

/// A record's text. Format 2 (this kiln's):
///
/// ```text
/// kiln-store-entry 2
/// content blake3:<hex of the tree hash, format 2>
/// reference <entry>          (one line per reference)
/// ```
///
/// Format 1, written by older kilns, is the same with `1` and a format-1 tree hash; it is read
/// as such (see `digest.rs`).
fn format_record(info: &EntryInfo) -> String {
    let mut out = format!(
        "kiln-store-entry {}\ncontent {}\n",
        info.format.number(),
        info.content
    );
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
    let format = lines
        .next()
        .and_then(|line| line.strip_prefix("kiln-store-entry "))
        .and_then(|n| n.parse().ok())
        .and_then(TreeFormat::from_number)
        .ok_or_else(|| bad("unknown format"))?;
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
        format,
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
    let mode = meta.permissions().mode();
    if mode & 0o222 != 0 {
        fs::set_permissions(path, fs::Permissions::from_mode(mode & !0o222))?;
    }
    Ok(())
}

/// Removes a tree that may be read-only.
pub(crate) fn remove_tree(path: &Path) -> io::Result<()> {
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
