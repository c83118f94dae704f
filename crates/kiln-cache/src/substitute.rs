//! Substitution: fetching finished entries from caches while the build runs.
//!
//! Before the first step runs, realisation hands [`Caches`] every entry it lacks
//! ([`kiln_store::Substituter::prepare`]). A task per entry, a few at a time on the cache
//! runtime, asks each cache in turn for the entry's manifest, checks its signature against the
//! trusted keys, and downloads the archive it names into this kiln's temporary directory,
//! checking the archive's hash and size. When the scheduler reaches the step, under the entry's
//! build lock and with its inputs present, [`Caches`] waits for that download (reporting its
//! bytes), extracts it, and checks that the extracted archive hashes to the signed content hash.
//! Only then does the store seal, hash and register the tree, as it would a builder's output.
//!
//! Failure never fails the build. A refused entry (untrusted or bad signature, wrong hash, a
//! missing archive) is one warning naming the entry and the cache, and the step is built. A
//! cache that is unreachable, slow (see the time-outs in `remote.rs`) or failing gets one
//! warning, and is not asked again during this build.

use crate::archive;
use crate::error::CacheResult;
use crate::keys::TrustedKeys;
use crate::manifest::{archive_path, manifest_path, BuilderClass, Manifest};
use crate::remote::{Remote, RemoteError};
use kiln_store::{Derivation, EntryName, Events, Store};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::Duration;

/// Downloads that run at once.
const PARALLEL_DOWNLOADS: usize = 8;

/// The substituters of one build: caches in order of preference, and the keys to trust.
pub struct Caches {
    runtime: tokio::runtime::Runtime,
    caches: Vec<Arc<CacheState>>,
    trusted: Arc<TrustedKeys>,
    class: BuilderClass,
    store: Store,
    slots: Mutex<BTreeMap<EntryName, Arc<Slot>>>,
}

impl std::fmt::Debug for Caches {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Caches")
            .field(
                "caches",
                &self
                    .caches
                    .iter()
                    .map(|c| &c.remote.url)
                    .collect::<Vec<_>>(),
            )
            .finish()
    }
}

struct CacheState {
    remote: Remote,
    /// Set at its first failure: one warning, then it is left alone.
    down: AtomicBool,
}

/// One entry's fetch.
#[derive(Default)]
struct Slot {
    state: Mutex<SlotState>,
    changed: Condvar,
    done: AtomicU64,
    total: AtomicU64,
}

#[derive(Default)]
enum SlotState {
    #[default]
    Pending,
    /// Downloaded, its archive's hash checked; the content is checked on extraction.
    Ready {
        manifest: Box<Manifest>,
        file: PathBuf,
        url: String,
        warnings: Vec<String>,
    },
    /// No cache has it (or every copy was refused).
    Missing {
        warnings: Vec<String>,
    },
    Taken,
}

impl Caches {
    /// Caches at `urls` (in order of preference) for the entries of `store`, accepting entries
    /// signed by `trusted`. Opening makes no request.
    pub fn open(store: &Store, urls: &[String], trusted: TrustedKeys) -> CacheResult<Caches> {
        let caches = urls
            .iter()
            .map(|url| {
                Remote::open(url).map(|remote| {
                    Arc::new(CacheState {
                        remote,
                        down: AtomicBool::new(false),
                    })
                })
            })
            .collect::<CacheResult<Vec<_>>>()?;
        Ok(Caches {
            runtime: crate::runtime()?,
            caches,
            trusted: Arc::new(trusted),
            class: BuilderClass::current(),
            store: store.clone(),
            slots: Mutex::new(BTreeMap::new()),
        })
    }
}

impl kiln_store::Substituter for Caches {
    fn prepare(&self, wanted: &[EntryName]) {
        if self.caches.is_empty() {
            return;
        }
        let mut jobs = Vec::new();
        {
            let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
            for entry in wanted {
                let Ok(file) = self.store.scratch(&format!("{entry}.kar.zst")) else {
                    continue;
                };
                let slot = Arc::new(Slot::default());
                slots.insert(entry.clone(), slot.clone());
                jobs.push((entry.clone(), file, slot));
            }
        }
        let caches = self.caches.clone();
        let trusted = self.trusted.clone();
        let class = self.class;
        self.runtime.spawn(async move {
            use futures::StreamExt;
            futures::stream::iter(jobs)
                .for_each_concurrent(PARALLEL_DOWNLOADS, |(entry, file, slot)| {
                    let caches = caches.clone();
                    let trusted = trusted.clone();
                    async move {
                        let state = fetch(&caches, &trusted, class, &entry, &file, &slot).await;
                        *slot.state.lock().unwrap_or_else(PoisonError::into_inner) = state;
                        slot.changed.notify_all();
                    }
                })
                .await;
        });
    }

    fn substitute(
        &self,
        drv: &Derivation,
        entry: &EntryName,
        out: &Path,
        events: &dyn Events,
    ) -> bool {
        let Some(slot) = self
            .slots
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(entry)
            .cloned()
        else {
            return false;
        };
        let mut fetching = false;
        let state = {
            let mut state = slot.state.lock().unwrap_or_else(PoisonError::into_inner);
            while matches!(*state, SlotState::Pending) {
                let done = slot.done.load(Ordering::Relaxed);
                if done > 0 {
                    if !fetching {
                        events.fetching(drv);
                        fetching = true;
                    }
                    let total = slot.total.load(Ordering::Relaxed);
                    events.progress(drv, done, (total > 0).then_some(total));
                }
                state = slot
                    .changed
                    .wait_timeout(state, Duration::from_millis(200))
                    .unwrap_or_else(PoisonError::into_inner)
                    .0;
            }
            std::mem::replace(&mut *state, SlotState::Taken)
        };
        match state {
            SlotState::Ready {
                manifest,
                file,
                url,
                warnings,
            } => {
                for warning in warnings {
                    events.message(drv, &format!("warning: {warning}"));
                }
                if !fetching {
                    events.fetching(drv);
                }
                events.progress(drv, manifest.archive_size, Some(manifest.archive_size));
                let result = archive::unpack(&file, out, &manifest.content);
                let _ = std::fs::remove_file(&file);
                match result {
                    Ok(()) => true,
                    Err(err) => {
                        events.message(
                            drv,
                            &format!(
                                "warning: refused `{entry}` from `{url}`: {err}; building it locally"
                            ),
                        );
                        let _ = remove_tree(out);
                        false
                    }
                }
            }
            SlotState::Missing { warnings } => {
                for warning in warnings {
                    events.message(drv, &format!("warning: {warning}"));
                }
                false
            }
            SlotState::Pending | SlotState::Taken => false,
        }
    }
}

impl Drop for Caches {
    fn drop(&mut self) {
        // Downloads no step took (the build failed first, say) are removed.
        let slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
        for slot in slots.values() {
            if let SlotState::Ready { file, .. } =
                &*slot.state.lock().unwrap_or_else(PoisonError::into_inner)
            {
                let _ = std::fs::remove_file(file);
            }
        }
    }
}

/// Asks each cache in turn for `entry`, downloading the first trusted copy.
async fn fetch(
    caches: &[Arc<CacheState>],
    trusted: &TrustedKeys,
    class: BuilderClass,
    entry: &EntryName,
    file: &Path,
    slot: &Slot,
) -> SlotState {
    let mut warnings = Vec::new();
    for cache in caches {
        if cache.down.load(Ordering::Relaxed) {
            continue;
        }
        let url = &cache.remote.url;
        let down = |why: &RemoteError, warnings: &mut Vec<String>| {
            if !cache.down.swap(true, Ordering::Relaxed) {
                warnings.push(format!(
                    "the cache `{url}` failed ({why}); not using it for the rest of this build"
                ));
            }
        };
        let text = match cache.remote.get_text(&manifest_path(class, entry)).await {
            Ok(text) => text,
            Err(RemoteError::NotFound) => continue,
            Err(why) => {
                down(&why, &mut warnings);
                continue;
            }
        };
        let mut refuse = |why: String| {
            warnings.push(format!(
                "refused `{entry}` from `{url}`: {why}; building it locally unless another cache has it"
            ));
        };
        let manifest = match Manifest::parse_verified(&text, trusted) {
            Ok((manifest, _signer)) => manifest,
            Err(why) => {
                refuse(why);
                continue;
            }
        };
        if manifest.entry != *entry || manifest.class != class {
            refuse(format!(
                "its manifest describes `{}` built as {}",
                manifest.entry,
                manifest.class.as_str()
            ));
            continue;
        }
        if manifest.archive != archive_path(&manifest.archive_hash) {
            refuse("its manifest names an archive outside the cache's archives".into());
            continue;
        }
        slot.total.store(manifest.archive_size, Ordering::Relaxed);
        slot.done.store(0, Ordering::Relaxed);
        let progress = |done: u64| slot.done.store(done, Ordering::Relaxed);
        match cache
            .remote
            .download(&manifest.archive, file, manifest.archive_size, &progress)
            .await
        {
            Ok((hash, size)) if hash == manifest.archive_hash && size == manifest.archive_size => {
                return SlotState::Ready {
                    manifest: Box::new(manifest),
                    file: file.to_path_buf(),
                    url: url.clone(),
                    warnings,
                };
            }
            Ok((hash, size)) => {
                let _ = std::fs::remove_file(file);
                refuse(format!(
                    "its archive ({size} bytes, {hash}) is not the one its manifest signs ({} bytes, {})",
                    manifest.archive_size, manifest.archive_hash
                ));
            }
            Err(RemoteError::NotFound) => {
                refuse(format!("its archive `{}` is missing", manifest.archive));
            }
            Err(why) => {
                let _ = std::fs::remove_file(file);
                down(&why, &mut warnings);
            }
        }
    }
    SlotState::Missing { warnings }
}

/// Removes a partly extracted tree, whose directories may be read-only.
pub(crate) fn remove_tree(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::symlink_metadata(path)?;
    if meta.is_dir() {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o700))?;
        for item in std::fs::read_dir(path)? {
            remove_tree(&item?.path())?;
        }
        std::fs::remove_dir(path)
    } else {
        std::fs::remove_file(path)
    }
}
