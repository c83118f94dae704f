//! Garbage collection: remove what no root keeps alive, and what crashed builds left behind.
//!
//! Roots are the `result` links registered in `.roots` and the temporary roots of every running
//! kiln (`lock.rs`); an entry is live if a root reaches it through references. `gc` holds the
//! gc lock exclusively throughout, so no entry is registered or rooted while it decides, and it
//! removes an entry only if it can take that entry's build lock at once (one being repaired is
//! left for the next collection).
//!
//! Temporaries are removed when no running kiln can own them: a registration `gc` can lock
//! belongs to a process that is gone, and its `.tmp/<token>/` goes with it. Temporaries in the
//! layout of older kilns (`.tmp/<entry>.<pid>.<n>`, `.check-*` at the root), which carry no
//! owner, are removed when they last changed before the oldest running kiln started.

use crate::error::{StoreError, StoreResult};
use crate::lock::{PathLock, Processes, LOCKS};
use crate::store::{remove_tree, EntryName, Store};
use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

/// What `gc` did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GcReport {
    pub removed: Vec<EntryName>,
    pub kept: usize,
    /// Temporaries of builds that are no longer running (directories and files), removed.
    pub temporaries: usize,
    /// Bytes of disk the removals freed (blocks of files whose last link went; files an entry
    /// shares with a live one by hard link free nothing).
    pub freed: u64,
}

impl Store {
    /// Removes every entry not reachable from a root through references, and the temporaries
    /// of builds that are no longer running.
    pub fn gc(&self) -> StoreResult<GcReport> {
        if self.is_read_only() {
            return Err(StoreError::ReadOnly {
                root: self.root().to_path_buf(),
            });
        }
        let _exclusive = self.gc_lock().exclusive()?;
        let processes = Processes::scan(self.root())?;
        let mut live: BTreeSet<EntryName> = BTreeSet::new();
        let mut stack = self.live_roots()?;
        stack.extend(processes.roots.iter().cloned());
        while let Some(entry) = stack.pop() {
            if !live.insert(entry.clone()) {
                continue;
            }
            if let Ok(Some(info)) = self.info(&entry) {
                stack.extend(info.references);
            }
        }
        let mut report = GcReport::default();
        let mut freed = Freed::default();
        for entry in self.registered()? {
            // A record this kiln cannot read (damaged, or a newer kiln's) is kept: `verify`
            // reports it, and `verify --repair` removes it.
            if live.contains(&entry) || self.info(&entry).is_err() {
                report.kept += 1;
                continue;
            }
            let Some(lock) = self.lock_entry(&entry, false)? else {
                report.kept += 1;
                continue;
            };
            freed.account(&self.path(&entry));
            let removed = self.remove_entry(&entry);
            lock.release();
            removed?;
            report.removed.push(entry);
        }
        self.remove_unregistered(&mut freed)?;
        report.temporaries = self.remove_temporaries(&processes, &mut freed)?;
        self.remove_stale_locks()?;
        report.freed = freed.total();
        Ok(report)
    }

    /// The entries the registered roots still point to.
    fn live_roots(&self) -> StoreResult<Vec<EntryName>> {
        let dir = self.root().join(".roots");
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

    /// Entries in place without a record: a build that crashed between its two renames.
    fn remove_unregistered(&self, freed: &mut Freed) -> StoreResult<()> {
        let root = self.root();
        for item in fs::read_dir(root).map_err(StoreError::io("list", root))? {
            let item = item.map_err(StoreError::io("list", root))?;
            let name = item.file_name();
            let Some(name) = name.to_str() else { continue };
            let Ok(entry) = EntryName::parse(name) else {
                continue;
            };
            if self.contains(&entry) {
                continue;
            }
            if let Some(lock) = self.lock_entry(&entry, false)? {
                if !self.contains(&entry) {
                    freed.account(&item.path());
                    let removed = remove_tree(&item.path());
                    lock.release();
                    removed.map_err(StoreError::io("remove", item.path()))?;
                } else {
                    lock.release();
                }
            }
        }
        Ok(())
    }

    /// Returns how many temporaries it removed.
    fn remove_temporaries(&self, processes: &Processes, freed: &mut Freed) -> StoreResult<usize> {
        let tmp = self.root().join(".tmp");
        let mut count = 0;
        for (token, path, file) in &processes.dead {
            let dir = tmp.join(token);
            if fs::symlink_metadata(&dir).is_ok() {
                count += count_children(&dir);
                freed.account(&dir);
                remove_tree(&dir).map_err(StoreError::io("remove", &dir))?;
            }
            fs::remove_file(path).map_err(StoreError::io("remove", path))?;
            let _ = file;
        }
        // The oldest running kiln's start; this process counts, so it is never in the future.
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis());
        let oldest = processes
            .oldest_start_ms()
            .map_or(now_ms, |o| o.min(now_ms));
        let older_than_every_kiln = |path: &Path| -> bool {
            // ctime, which no builder can set back, unlike mtime.
            fs::symlink_metadata(path).is_ok_and(|meta| {
                let changed_ms =
                    i128::from(meta.ctime()) * 1000 + i128::from(meta.ctime_nsec()) / 1_000_000;
                changed_ms < oldest as i128
            })
        };
        let mut candidates = Vec::new();
        for item in fs::read_dir(&tmp).map_err(StoreError::io("list", &tmp))? {
            let item = item.map_err(StoreError::io("list", &tmp))?;
            let name = item.file_name().to_string_lossy().into_owned();
            if processes.running.contains(&name) {
                continue;
            }
            // A token whose registration is gone (removed above, or never finished), or a
            // temporary in the older layout.
            if is_token(&name) || older_than_every_kiln(&item.path()) {
                candidates.push(item.path());
            }
        }
        for item in fs::read_dir(self.root()).map_err(StoreError::io("list", self.root()))? {
            let item = item.map_err(StoreError::io("list", self.root()))?;
            let name = item.file_name().to_string_lossy().into_owned();
            if name.starts_with(".check-") && older_than_every_kiln(&item.path()) {
                candidates.push(item.path());
            }
        }
        for path in candidates {
            freed.account(&path);
            match remove_tree(&path) {
                Ok(()) => count += 1,
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(StoreError::io("remove", &path)(e)),
            }
        }
        Ok(count)
    }

    /// Lock files a crashed build left (a live holder unlinks its own).
    fn remove_stale_locks(&self) -> StoreResult<()> {
        let dir = self.root().join(LOCKS).join("entries");
        for item in fs::read_dir(&dir).map_err(StoreError::io("list", &dir))? {
            let path = item.map_err(StoreError::io("list", &dir))?.path();
            if let Some(lock) =
                PathLock::acquire(&path, false).map_err(StoreError::io("lock", &path))?
            {
                lock.release();
            }
        }
        Ok(())
    }
}

/// `<start ms>-<pid>-<n>`, the name of a registration.
fn is_token(name: &str) -> bool {
    let parts: Vec<&str> = name.split('-').collect();
    parts.len() == 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|c| c.is_ascii_digit()))
}

/// What a temporary directory holds, counted as one temporary each (a build, a record).
fn count_children(dir: &Path) -> usize {
    fs::read_dir(dir).map_or(0, |items| items.count())
}

/// Disk space freed by removals: a file's blocks count once all its links are removed.
#[derive(Default)]
struct Freed {
    bytes: u64,
    /// Inodes with several links: (links, links removed, bytes).
    linked: BTreeMap<(u64, u64), (u64, u64, u64)>,
}

impl Freed {
    /// Counts what removing the tree at `path` frees (call it before removing).
    fn account(&mut self, path: &Path) {
        let Ok(meta) = fs::symlink_metadata(path) else {
            return;
        };
        let bytes = meta.blocks() * 512;
        if meta.is_dir() {
            self.bytes += bytes;
            if let Ok(items) = fs::read_dir(path) {
                for item in items.flatten() {
                    self.account(&item.path());
                }
            }
        } else if meta.nlink() <= 1 {
            self.bytes += bytes;
        } else {
            let slot =
                self.linked
                    .entry((meta.dev(), meta.ino()))
                    .or_insert((meta.nlink(), 0, bytes));
            slot.1 += 1;
        }
    }

    fn total(&self) -> u64 {
        self.bytes
            + self
                .linked
                .values()
                .filter(|(links, removed, _)| removed >= links)
                .map(|(_, _, bytes)| bytes)
                .sum::<u64>()
    }
}
