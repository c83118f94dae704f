//! Pushing entries to a cache: `kiln store push` and `kiln build --push`.
//!
//! Each entry of the closure goes up on its own, references first: unless the cache has its
//! manifest already, the entry is re-hashed against its record (a damaged entry is never
//! uploaded), packed into a temporary archive, the archive uploaded under its own hash (in
//! parts when large; an unfinished multipart upload is invisible), and only then the signed
//! manifest written. A push killed at any point leaves no manifest naming a missing or partial
//! archive, and pushing again uploads whatever has no manifest yet.

use crate::archive;
use crate::error::{CacheError, CacheResult};
use crate::keys::SecretKey;
use crate::manifest::{archive_path, built_by, manifest_path, BuilderClass, Manifest};
use crate::remote::{Remote, RemoteError};
use kiln_store::{EntryName, Store};
use rayon::prelude::*;
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

/// What a push did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PushReport {
    /// Entries uploaded.
    pub uploaded: usize,
    /// Entries the cache had already.
    pub present: usize,
    /// Compressed bytes sent.
    pub bytes: u64,
}

/// Pushes `roots` and every entry they reference to the cache at `url`, signing with `key`;
/// `say` gets a line per entry uploaded.
pub fn push(
    store: &Store,
    roots: &[EntryName],
    url: &str,
    key: &SecretKey,
    say: &(dyn Fn(&str) + Sync),
) -> CacheResult<PushReport> {
    let remote = Remote::open(url)?;
    let runtime = crate::runtime()?;
    let entries = closure(store, roots)?;
    store.hold(&entries)?;
    let class = BuilderClass::current();
    let by = built_by();
    let uploaded = AtomicUsize::new(0);
    let present = AtomicUsize::new(0);
    let bytes = AtomicU64::new(0);
    // Entries go up in parallel; references before the entries that name them is not needed
    // for correctness (a consumer fetches or builds each step on its own).
    let errors: Vec<CacheError> = entries
        .par_iter()
        .with_max_len(1)
        .filter_map(|entry| {
            let result = runtime.block_on(push_one(store, &remote, entry, class, &by, key));
            match result {
                Ok(None) => {
                    present.fetch_add(1, Ordering::Relaxed);
                    None
                }
                Ok(Some(size)) => {
                    uploaded.fetch_add(1, Ordering::Relaxed);
                    bytes.fetch_add(size, Ordering::Relaxed);
                    say(&format!("pushed {entry} ({size} bytes)"));
                    None
                }
                Err(err) => Some(err),
            }
        })
        .collect();
    if !errors.is_empty() {
        return Err(CacheError::PushFailed {
            failed: errors.len(),
            total: entries.len(),
            errors,
        });
    }
    Ok(PushReport {
        uploaded: uploaded.into_inner(),
        present: present.into_inner(),
        bytes: bytes.into_inner(),
    })
}

/// `roots` and what they reference, transitively, references first.
fn closure(store: &Store, roots: &[EntryName]) -> CacheResult<Vec<EntryName>> {
    let mut order = Vec::new();
    let mut seen = BTreeSet::new();
    let mut stack: Vec<(EntryName, bool)> =
        roots.iter().rev().map(|e| (e.clone(), false)).collect();
    while let Some((entry, expanded)) = stack.pop() {
        if expanded {
            order.push(entry);
            continue;
        }
        if !seen.insert(entry.clone()) {
            continue;
        }
        let info = store.info(&entry)?.ok_or_else(|| CacheError::NotInStore {
            path: store.path(&entry),
        })?;
        stack.push((entry, true));
        for reference in info.references.iter().rev() {
            if !seen.contains(reference) {
                stack.push((reference.clone(), false));
            }
        }
    }
    Ok(order)
}

/// Uploads one entry unless the cache has it; the archive's size if it uploaded.
async fn push_one(
    store: &Store,
    remote: &Remote,
    entry: &EntryName,
    class: BuilderClass,
    by: &str,
    key: &SecretKey,
) -> CacheResult<Option<u64>> {
    let remote_err = |e: RemoteError| CacheError::Remote {
        url: remote.url.clone(),
        reason: e.to_string(),
    };
    let manifest_rel = manifest_path(class, entry);
    if remote.exists(&manifest_rel).await.map_err(remote_err)? {
        return Ok(None);
    }
    let not_pushable = |reason: String| CacheError::NotPushable {
        entry: entry.to_string(),
        reason,
    };
    let report = store.verify_entries(std::slice::from_ref(entry), false)?;
    if let Some(damage) = report.damage.first() {
        return Err(not_pushable(format!(
            "it is damaged ({}); `kiln store verify --repair` removes it",
            damage.problem
        )));
    }
    let info = store.info(entry)?.ok_or_else(|| CacheError::NotInStore {
        path: store.path(entry),
    })?;
    let tmp = store.scratch(&format!("{entry}.kar.zst"))?;
    let packed = archive::pack(&store.path(entry), &tmp);
    let result = async {
        let packed = packed.map_err(|e| not_pushable(format!("cannot pack it: {e}")))?;
        let archive = archive_path(&packed.archive);
        if !remote.exists(&archive).await.map_err(remote_err)? {
            remote.upload(&archive, &tmp).await.map_err(remote_err)?;
        }
        let manifest = Manifest {
            entry: entry.clone(),
            class,
            content: packed.content,
            content_size: packed.content_size,
            archive,
            archive_hash: packed.archive,
            archive_size: packed.archive_size,
            references: info.references.clone(),
            built_by: by.to_string(),
        };
        // Last: the entry becomes visible to consumers here.
        remote
            .put_text(&manifest_rel, manifest.sign(key))
            .await
            .map_err(remote_err)?;
        Ok(Some(packed.archive_size))
    }
    .await;
    let _ = std::fs::remove_file(&tmp);
    result
}

/// One line of `kiln store ls --remote`.
#[derive(Clone, Debug)]
pub struct RemoteEntry {
    pub manifest: Manifest,
    /// The name of the key that signed it (not checked: listing trusts nothing).
    pub signer: Option<String>,
}

/// What a cache holds.
#[derive(Clone, Debug, Default)]
pub struct RemoteListing {
    /// Every manifest that parses (both classes), sorted by path.
    pub entries: Vec<RemoteEntry>,
    /// Manifests that do not parse: their object path and why.
    pub unreadable: Vec<(String, String)>,
}

/// What the cache at `url` holds.
pub fn list_remote(url: &str) -> CacheResult<RemoteListing> {
    let remote = Remote::open(url)?;
    let runtime = crate::runtime()?;
    let remote_err = |e: RemoteError| CacheError::Remote {
        url: url.to_string(),
        reason: e.to_string(),
    };
    runtime.block_on(async {
        let names = remote.list("manifests").await.map_err(remote_err)?;
        let mut good = Vec::new();
        let mut bad = Vec::new();
        for name in names {
            let text = match remote.get_text(&name).await {
                Ok(text) => text,
                Err(why) => {
                    bad.push((name, format!("cannot read it: {why}")));
                    continue;
                }
            };
            match Manifest::parse_unverified(&text) {
                Ok((manifest, signer)) => good.push(RemoteEntry { manifest, signer }),
                Err(why) => bad.push((name, why)),
            }
        }
        Ok(RemoteListing {
            entries: good,
            unreadable: bad,
        })
    })
}
