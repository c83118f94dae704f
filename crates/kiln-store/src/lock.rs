//! The store's locks, all `flock(2)` on files under `<root>/.locks`, so a crash releases them:
//! the kernel drops a dead process's locks, and nothing a crash leaves behind blocks anyone.
//!
//! - **Entry locks** (`.locks/entries/<entry>`, exclusive): held while an entry is built and
//!   registered, so two builds of the same step, in any processes, build it once: the second
//!   waits, then finds it registered and reuses it. A lock file is unlinked by its holder before
//!   release; a waiter that then gets the lock on the unlinked inode notices (the path no longer
//!   names the inode it locked) and tries again on a fresh file. Locking an inode and not a name
//!   is the classic `flock` pitfall, and this check is the usual cure.
//! - **The gc lock** (`.locks/gc`): shared for the short moments a process registers an entry or
//!   records temporary roots, exclusive for the whole of `gc`. So `gc` never runs while an entry
//!   is moved into place, and never between a build finding an entry present and rooting it.
//! - **Process registrations** (`.locks/procs/<token>`, exclusive, held for the process's life):
//!   the file's lines are the process's temporary roots (every entry it registered, found or
//!   will read), which `gc` keeps; `.tmp/<token>/` holds its temporaries. `gc` tells a running
//!   kiln from a dead one by trying the lock: a registration it can lock belongs to a process
//!   that is gone, and its temporaries are orphans.
//!
//! Design decision: `flock` rather than PID files with stale-lock detection. A PID can be reused
//! and a boot id must be read from `/proc`; a `flock` dies with its holder. Rejected too:
//! `fcntl` record locks, which a process loses when it closes *any* descriptor of the file.

use crate::error::{StoreError, StoreResult};
use crate::store::EntryName;
use rustix::fs::{flock, FlockOperation};
use std::collections::BTreeSet;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write as _};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Where the lock files live, below a store root.
pub(crate) const LOCKS: &str = ".locks";

/// Opens (creating) a lock file.
fn open_lock_file(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
}

/// `flock`, waiting if `wait`; `Ok(false)` when not waiting and another holder has it.
pub(crate) fn try_flock(file: &File, exclusive: bool, wait: bool) -> io::Result<bool> {
    let operation = match (exclusive, wait) {
        (true, true) => FlockOperation::LockExclusive,
        (true, false) => FlockOperation::NonBlockingLockExclusive,
        (false, true) => FlockOperation::LockShared,
        (false, false) => FlockOperation::NonBlockingLockShared,
    };
    loop {
        match flock(file, operation) {
            Ok(()) => return Ok(true),
            Err(rustix::io::Errno::INTR) => continue,
            Err(rustix::io::Errno::WOULDBLOCK) if !wait => return Ok(false),
            Err(errno) => return Err(errno.into()),
        }
    }
}

/// An exclusive lock on one path (an entry's), valid only while the path names the locked inode.
#[derive(Debug)]
pub(crate) struct PathLock {
    path: PathBuf,
    file: File,
}

impl PathLock {
    /// Takes the lock on `path`, waiting for another holder if `wait`; `Ok(None)` when not
    /// waiting and it is held.
    pub(crate) fn acquire(path: &Path, wait: bool) -> io::Result<Option<PathLock>> {
        loop {
            let file = open_lock_file(path)?;
            if !try_flock(&file, true, wait)? {
                return Ok(None);
            }
            // The holder before us may have unlinked the file: then we hold a lock nobody else
            // can see, and must lock the path's new file instead.
            let locked = file.metadata()?;
            match fs::metadata(path) {
                Ok(now) if now.dev() == locked.dev() && now.ino() == locked.ino() => {
                    return Ok(Some(PathLock {
                        path: path.to_path_buf(),
                        file,
                    }));
                }
                Ok(_) => continue,
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// Releases the lock and removes its file, which only its holder may do.
    pub(crate) fn release(self) {
        let _ = fs::remove_file(&self.path);
        drop(self.file);
    }
}

/// The gc lock of one store handle: shared holds are counted, so the threads of one process
/// share one `flock` (a second `flock` on the same descriptor would not nest).
#[derive(Debug)]
pub(crate) struct GcLock {
    path: PathBuf,
    /// The descriptor shared holds use and the number of holders; opened on first use.
    state: Mutex<(Option<File>, usize)>,
}

/// A shared hold on the gc lock; released when the last one of the handle drops.
pub(crate) struct SharedGc<'a>(&'a GcLock);

impl GcLock {
    pub(crate) fn new(root: &Path) -> GcLock {
        GcLock {
            path: root.join(LOCKS).join("gc"),
            state: Mutex::new((None, 0)),
        }
    }

    pub(crate) fn shared(&self) -> StoreResult<SharedGc<'_>> {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if state.1 == 0 {
            if state.0.is_none() {
                state.0 =
                    Some(open_lock_file(&self.path).map_err(StoreError::io("open", &self.path))?);
            }
            let file = state.0.as_ref().expect("opened above");
            try_flock(file, false, true).map_err(StoreError::io("lock", &self.path))?;
        }
        state.1 += 1;
        Ok(SharedGc(self))
    }

    /// The exclusive hold `gc` takes, on a descriptor of its own.
    pub(crate) fn exclusive(&self) -> StoreResult<File> {
        let file = open_lock_file(&self.path).map_err(StoreError::io("open", &self.path))?;
        try_flock(&file, true, true).map_err(StoreError::io("lock", &self.path))?;
        Ok(file)
    }
}

impl Drop for SharedGc<'_> {
    fn drop(&mut self) {
        let mut state = self.0.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.1 -= 1;
        if state.1 == 0 {
            if let Some(file) = &state.0 {
                let _ = flock(file, FlockOperation::Unlock);
            }
        }
    }
}

static TOKEN_COUNTER: AtomicU64 = AtomicU64::new(0);

/// A running kiln's registration in a store: its temporaries' directory and its temporary roots.
#[derive(Debug)]
pub(crate) struct Registration {
    /// `.locks/procs/<token>`, locked exclusively for as long as this value lives.
    file: Mutex<File>,
    path: PathBuf,
    /// `.tmp/<token>`.
    pub(crate) tmp_dir: PathBuf,
    roots: Mutex<BTreeSet<EntryName>>,
    next_temp: AtomicU64,
}

impl Registration {
    pub(crate) fn create(root: &Path) -> StoreResult<Registration> {
        let started = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or(Duration::ZERO)
            .as_millis();
        // The start time first, so tokens sort by age; the PID and a counter make it unique.
        let token = format!(
            "{started:013}-{}-{}",
            std::process::id(),
            TOKEN_COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let procs = root.join(LOCKS).join("procs");
        let path = procs.join(&token);
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(StoreError::io("register this process in", &procs))?;
        try_flock(&file, true, true).map_err(StoreError::io("lock", &path))?;
        let tmp_dir = root.join(".tmp").join(&token);
        fs::create_dir(&tmp_dir).map_err(StoreError::io("create", &tmp_dir))?;
        Ok(Registration {
            file: Mutex::new(file),
            path,
            tmp_dir,
            roots: Mutex::new(BTreeSet::new()),
            next_temp: AtomicU64::new(0),
        })
    }

    /// A fresh path in this process's temporary directory.
    pub(crate) fn temp_path(&self, name: &str) -> PathBuf {
        let n = self.next_temp.fetch_add(1, Ordering::Relaxed);
        self.tmp_dir.join(format!("{n}-{name}"))
    }

    /// Records `entries` as temporary roots. The caller holds the gc lock shared, so `gc`
    /// reads either none or all of the lines.
    pub(crate) fn add_roots(&self, entries: &[EntryName]) -> StoreResult<()> {
        let mut roots = self.roots.lock().unwrap_or_else(PoisonError::into_inner);
        let mut text = String::new();
        for entry in entries {
            if roots.insert(entry.clone()) {
                text.push_str(entry.as_str());
                text.push('\n');
            }
        }
        if text.is_empty() {
            return Ok(());
        }
        let mut file = self.file.lock().unwrap_or_else(PoisonError::into_inner);
        file.write_all(text.as_bytes())
            .map_err(StoreError::io("record temporary roots in", &self.path))
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        // Unlinked while still locked: `gc` only removes registrations it can lock.
        let _ = crate::store::remove_tree(&self.tmp_dir);
        let _ = fs::remove_file(&self.path);
    }
}

/// What `gc` learns from the registrations: the running kilns' temporary roots and tokens, and
/// the dead ones' tokens (whose locks it holds until it has removed their temporaries).
pub(crate) struct Processes {
    pub(crate) roots: BTreeSet<EntryName>,
    pub(crate) running: BTreeSet<String>,
    pub(crate) dead: Vec<(String, PathBuf, File)>,
}

impl Processes {
    pub(crate) fn scan(root: &Path) -> StoreResult<Processes> {
        let dir = root.join(LOCKS).join("procs");
        let mut found = Processes {
            roots: BTreeSet::new(),
            running: BTreeSet::new(),
            dead: Vec::new(),
        };
        let mut names: Vec<String> = Vec::new();
        for item in fs::read_dir(&dir).map_err(StoreError::io("list", &dir))? {
            let item = item.map_err(StoreError::io("list", &dir))?;
            if let Ok(name) = item.file_name().into_string() {
                names.push(name);
            }
        }
        names.sort();
        for token in names {
            let path = dir.join(&token);
            let file = match OpenOptions::new().read(true).write(true).open(&path) {
                Ok(file) => file,
                // Its process ended and unregistered meanwhile.
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(StoreError::io("open", &path)(e)),
            };
            if try_flock(&file, true, false).map_err(StoreError::io("lock", &path))? {
                found.dead.push((token, path, file));
                continue;
            }
            let text = fs::read_to_string(&path).map_err(StoreError::io("read", &path))?;
            found
                .roots
                .extend(text.lines().filter_map(|line| EntryName::parse(line).ok()));
            found.running.insert(token);
        }
        Ok(found)
    }

    /// When the oldest running kiln registered (milliseconds since the epoch), from its token.
    pub(crate) fn oldest_start_ms(&self) -> Option<u128> {
        self.running
            .iter()
            .filter_map(|token| token.split('-').next()?.parse().ok())
            .min()
    }
}
