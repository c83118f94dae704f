//! `verify`: re-hash entries against their records, and repair what is damaged.
//!
//! The tree hash (format 2) covers contents, modes (setuid included), owners and symlink
//! targets, so a changed mode is damage as much as a changed byte. Records written by an older
//! kiln (format 1) are checked in their own format, which covers contents, the executable bit
//! and symlink targets only; they are reported as outdated, and `--repair` re-records them in
//! format 2 once they pass. Repair removes a damaged entry under its build lock, so the next
//! build that needs it builds it again (`kiln build --repair` does so at once).

use crate::digest::{hash_sealed_tree, hash_tree, TreeFormat};
use crate::error::{StoreError, StoreResult};
use crate::store::{EntryInfo, EntryName, Store};
use rayon::prelude::*;

/// A problem `verify` found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Damage {
    pub entry: EntryName,
    pub problem: String,
    /// Whether repair removed the entry (the next build re-creates it).
    pub removed: bool,
}

/// What `verify` found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VerifyReport {
    /// Entries checked.
    pub checked: usize,
    pub damage: Vec<Damage>,
    /// Intact entries whose records are in an older format (see the module comment).
    pub outdated: Vec<EntryName>,
    /// Of those, how many repair re-recorded in the current format.
    pub upgraded: usize,
}

enum Verdict {
    Intact,
    Outdated { upgraded: bool },
    Damaged(Damage),
}

impl Store {
    /// Re-hashes every registered entry in parallel; with `repair`, removes damaged ones and
    /// upgrades outdated records.
    pub fn verify(&self, repair: bool) -> StoreResult<VerifyReport> {
        let entries = self.registered()?;
        self.verify_entries(&entries, repair)
    }

    /// As [`Store::verify`], for the named entries only (those not registered are skipped). An
    /// unreadable record is damage too.
    pub fn verify_entries(&self, entries: &[EntryName], repair: bool) -> StoreResult<VerifyReport> {
        let mut infos = Vec::new();
        let mut bad_records = Vec::new();
        for entry in entries {
            match self.info(entry) {
                Ok(Some(info)) => infos.push(info),
                Ok(None) => {}
                Err(err) => bad_records.push(Damage {
                    entry: entry.clone(),
                    problem: err.to_string(),
                    removed: repair && self.remove_locked(entry)?,
                }),
            }
        }
        let mut report = self.verify_infos(&infos, repair)?;
        report.checked += bad_records.len();
        report.damage.extend(bad_records);
        report.damage.sort_by(|a, b| a.entry.cmp(&b.entry));
        Ok(report)
    }

    /// Removes `entry` under its build lock; whether it did.
    fn remove_locked(&self, entry: &EntryName) -> StoreResult<bool> {
        match self.lock_entry(entry, true)? {
            Some(lock) => {
                let result = self.remove_entry(entry);
                lock.release();
                result.map(|()| true)
            }
            None => Ok(false),
        }
    }

    fn verify_infos(&self, infos: &[EntryInfo], repair: bool) -> StoreResult<VerifyReport> {
        if repair && self.is_read_only() {
            return Err(StoreError::ReadOnly {
                root: self.root().to_path_buf(),
            });
        }
        let verdicts: Vec<StoreResult<Verdict>> = infos
            .par_iter()
            .map(|info| self.verify_one(info, repair))
            .collect();
        let mut report = VerifyReport {
            checked: infos.len(),
            ..VerifyReport::default()
        };
        for (info, verdict) in infos.iter().zip(verdicts) {
            match verdict? {
                Verdict::Intact => {}
                Verdict::Outdated { upgraded } => {
                    report.outdated.push(info.entry.clone());
                    report.upgraded += usize::from(upgraded);
                }
                Verdict::Damaged(damage) => report.damage.push(damage),
            }
        }
        report.damage.sort_by(|a, b| a.entry.cmp(&b.entry));
        Ok(report)
    }

    fn verify_one(&self, info: &EntryInfo, repair: bool) -> StoreResult<Verdict> {
        let path = self.path(&info.entry);
        let problem = match hash_sealed_tree(&path, info.format) {
            Ok((actual, _)) if actual != info.content => Some(match info.format {
                TreeFormat::V1 => format!(
                    "its contents changed (tree hash {actual}, recorded {})",
                    info.content
                ),
                _ => format!(
                    "its contents, modes or owners changed (tree hash {actual}, recorded {})",
                    info.content
                ),
            }),
            Ok((_, Some(writable))) => Some(format!(
                "`{}` is writable, but registered entries are read-only",
                writable.strip_prefix(&path).map_or_else(
                    |_| writable.display().to_string(),
                    |p| p.display().to_string()
                )
            )),
            Ok((_, None)) => None,
            Err(e) => Some(format!("cannot read it: {e}")),
        };
        let Some(problem) = problem else {
            if info.format == TreeFormat::CURRENT {
                return Ok(Verdict::Intact);
            }
            let mut upgraded = false;
            if repair {
                let content = hash_tree(&path).map_err(StoreError::io("hash", &path))?;
                self.rewrite_record(&EntryInfo {
                    content,
                    format: TreeFormat::CURRENT,
                    ..info.clone()
                })?;
                upgraded = true;
            }
            return Ok(Verdict::Outdated { upgraded });
        };
        let removed = repair && self.remove_locked(&info.entry)?;
        Ok(Verdict::Damaged(Damage {
            entry: info.entry.clone(),
            problem,
            removed,
        }))
    }
}
