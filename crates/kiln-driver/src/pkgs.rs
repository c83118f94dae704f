//! `pkgs`: Debian bookworm's packages as derivation values.
//!
//! `pkgs.<debian-name>` is the unpacked package: a derivation whose `outPath` is the store entry
//! of the `unpack-deb` step (its input, the `.deb`, is a fixed-output fetch keyed by the SHA-256
//! the signed index promises). Pins come from `kiln.lock`; a name the lock lacks is resolved
//! against the archive index when first forced (with its `Depends` closure) and added to the
//! lock, as Cargo adds to Cargo.lock — unless the build is `--locked`, where it is an error.
//!
//! A Nix attribute set has a fixed key set, so `pkgs` needs every package name before any is
//! forced. Parsing the whole index for that would cost most of a no-op build, so the names are
//! kept in the store as a small sorted list per signed release (`debian-names`), written the
//! first time that release's index is opened. Each package value also carries `version`,
//! `depends` (the lock's dependency edges, from which the profile library finds the kernel ABI),
//! `src` (the fetched `.deb`) and `lockEntry` (its `kiln.lock` entry, for the image's package
//! manifest).

use crate::host::Host;
use kiln_debian::{
    fetch_derivation, open_index, unpack_derivation, ArchiveOptions, Change, DebianError, Index,
    Lock, LockedPackage,
};
use kiln_eval::{AttrEntry, Attrs, EvalError, EvalResult, Symbol, Thunk, Value};
use kiln_store::{Derivation, Store};
use std::cell::RefCell;
use std::collections::BTreeSet;
use std::rc::Rc;

/// The package source of one build: the lock, the archive, and what was added.
pub(crate) struct Packages {
    store: Store,
    archive: ArchiveOptions,
    pub(crate) lock: RefCell<Lock>,
    locked: bool,
    index: RefCell<Option<Rc<Index>>>,
    /// Pins added to the lock during evaluation.
    pub(crate) changes: RefCell<Vec<Change>>,
    /// Whether a package set was recorded in the lock during evaluation.
    pub(crate) sets_changed: std::cell::Cell<bool>,
    /// Whether `pkgs` holds only the lock's names: offline, on a store without the release's
    /// package list (a fresh one).
    pub(crate) only_locked: std::cell::Cell<bool>,
    host: Rc<Host>,
}

impl Packages {
    pub(crate) fn new(
        store: Store,
        archive: ArchiveOptions,
        lock: Lock,
        locked: bool,
        host: Rc<Host>,
    ) -> Packages {
        Packages {
            store,
            archive,
            lock: RefCell::new(lock),
            locked,
            index: RefCell::new(None),
            changes: RefCell::new(Vec::new()),
            sets_changed: std::cell::Cell::new(false),
            only_locked: std::cell::Cell::new(false),
            host,
        }
    }

    /// The index the lock was resolved against (or the archive's current one for a new lock).
    fn index(&self) -> Result<Rc<Index>, DebianError> {
        if let Some(index) = &*self.index.borrow() {
            return Ok(index.clone());
        }
        let release = self.lock.borrow().release.clone();
        let pinned = Some(release.as_str()).filter(|r| !r.is_empty());
        let index = Rc::new(open_index(&self.store, &self.archive, pinned)?);
        self.remember_names(&index);
        *self.index.borrow_mut() = Some(index.clone());
        Ok(index)
    }

    /// The cached name list of one signed release.
    fn list_derivation(kind: &str, release: &str, archive: &ArchiveOptions) -> Derivation {
        let mut drv = Derivation::new(
            format!("debian-{}-{kind}", archive.suite),
            format!("debian-{kind}"),
        );
        drv.args = vec![
            release.to_string(),
            archive.components.join(" "),
            archive.architecture.clone(),
        ];
        drv
    }

    fn remember_names(&self, index: &Index) {
        let drv = Self::list_derivation("names", &index.release.inrelease_sha256, &self.archive);
        let names: BTreeSet<&str> = index.iter().map(|p| p.name.as_str()).collect();
        let text: String = names.into_iter().flat_map(|n| [n, "\n"]).collect();
        // A cache: failing to write it only costs the next run an index parse.
        let _ = self.store.add(&drv.id().0, &drv.name, &[], None, |out| {
            std::fs::write(out, text).map_err(|e| kiln_store::BuildError::message(e.to_string()))
        });
    }

    /// The names of a package set of the release (`essential`, `required`): the lock's record
    /// of it, else the index's, recorded in the lock (unless it is locked, where that is an
    /// error saying `kiln lock` records it).
    fn set_names(&self, kind: &str) -> Result<Vec<String>, DebianError> {
        if let Some(names) = self.lock.borrow().sets.get(kind) {
            return Ok(names.clone());
        }
        if self.locked {
            return Err(DebianError::LockMissing {
                missing: vec![format!("the `{kind}` package set")],
            });
        }
        let index = self.index()?;
        let names = index.package_set(kind).unwrap_or_default();
        self.lock
            .borrow_mut()
            .sets
            .insert(kind.to_string(), names.clone());
        self.sets_changed.set(true);
        Ok(names)
    }

    /// Every name `pkgs` offers, sorted: the lock's, plus the release's names when known.
    /// (A no-op build spends most of its time here: 60 000 names, so no per-name `String`.)
    pub(crate) fn names(&self) -> Result<Vec<Symbol>, DebianError> {
        let lock = self.lock.borrow();
        let pinned: Vec<Symbol> = lock.packages.keys().map(|n| Symbol::intern(n)).collect();
        let cached = (!lock.release.is_empty())
            .then(|| {
                Self::list_derivation("names", &lock.release, &self.archive)
                    .entry()
                    .ok()
            })
            .flatten()
            .filter(|entry| self.store.contains(entry))
            .and_then(|entry| std::fs::read_to_string(self.store.path(&entry)).ok());
        drop(lock);
        let released: Vec<Symbol> = match cached {
            Some(text) => text.lines().map(Symbol::intern).collect(),
            None => match self.index() {
                Ok(index) => {
                    let mut names: Vec<Symbol> =
                        index.iter().map(|p| Symbol::intern(&p.name)).collect();
                    names.sort();
                    names
                }
                // Offline on a fresh store: the lock's packages are what there is.
                Err(_) if self.locked && !pinned.is_empty() => {
                    self.only_locked.set(true);
                    Vec::new()
                }
                Err(err) => return Err(err),
            },
        };
        // Both are sorted (the cache is written sorted): merge them.
        let mut names = Vec::with_capacity(released.len() + pinned.len());
        let (mut a, mut b) = (
            released.into_iter().peekable(),
            pinned.into_iter().peekable(),
        );
        loop {
            let next = match (a.peek(), b.peek()) {
                (Some(x), Some(y)) if x < y => a.next(),
                (Some(x), Some(y)) if x > y => b.next(),
                (Some(_), Some(_)) => {
                    b.next();
                    a.next()
                }
                (Some(_), None) => a.next(),
                (None, Some(_)) => b.next(),
                (None, None) => break,
            };
            if let Some(name) = next {
                if names.last() != Some(&name) {
                    names.push(name);
                }
            }
        }
        Ok(names)
    }

    /// The pin of `name`, adding it (and its closure) to the lock if needed.
    fn pin(&self, name: &str) -> Result<LockedPackage, DebianError> {
        if let Some(pin) = self.lock.borrow().packages.get(name) {
            return Ok(pin.clone());
        }
        if self.locked {
            return Err(DebianError::LockMissing {
                missing: vec![name.to_string()],
            });
        }
        let index = self.index()?;
        let changes = self.lock.borrow_mut().add(&index, &[name.to_string()])?;
        self.changes.borrow_mut().extend(changes);
        Ok(self.lock.borrow().packages[name].clone())
    }

    /// Re-pins every request to the archive's current index (`kiln lock --update`).
    pub(crate) fn update(&self) -> Result<Vec<Change>, DebianError> {
        let index = Rc::new(open_index(&self.store, &self.archive, None)?);
        self.remember_names(&index);
        let changes = self.lock.borrow_mut().update(&index)?;
        *self.index.borrow_mut() = Some(index);
        Ok(changes)
    }

    /// The derivation value of one package.
    fn package(&self, name: &str) -> EvalResult<Value> {
        let pin = self.pin(name).map_err(|e| crate::host::host_error(&e))?;
        let fetch = fetch_derivation(&pin, &self.archive.mirror);
        let fetch_id = fetch.id();
        let (fetch_path, deb) = self.host.record(fetch).map_err(EvalError::throw)?;
        let unpack = unpack_derivation(&pin, fetch_id, &deb);
        let drv_name = unpack.name.clone();
        let (drv_path, out_path) = self.host.record(unpack).map_err(EvalError::throw)?;
        let depends = pin
            .depends
            .iter()
            .map(|d| Value::string(d.as_str()))
            .collect();
        let int = |n: u64| Value::Int(i64::try_from(n).unwrap_or(i64::MAX));
        // The lock's entry, field for field: what a bill of materials says a package came from.
        let lock_entry = Value::Attrs(Attrs::from_entries(vec![
            crate::attr("name", Value::string(pin.name.as_str())),
            crate::attr("version", Value::string(pin.version.to_string())),
            crate::attr("architecture", Value::string(pin.architecture.as_str())),
            crate::attr("filename", Value::string(pin.filename.as_str())),
            crate::attr("size", int(pin.size)),
            crate::attr("sha256", Value::string(pin.sha256.as_str())),
            crate::attr(
                "depends",
                Value::list(
                    pin.depends
                        .iter()
                        .map(|d| Value::string(d.as_str()))
                        .collect(),
                ),
            ),
            crate::attr(
                "installed-size",
                pin.installed_size.map_or(Value::Null, int),
            ),
        ]));
        Ok(Value::Attrs(Attrs::from_entries(vec![
            crate::attr("lockEntry", lock_entry),
            crate::attr("type", Value::string("derivation")),
            crate::attr("name", Value::string(drv_name)),
            crate::attr("pname", Value::string(name)),
            crate::attr("version", Value::string(pin.version.to_string())),
            crate::attr("depends", Value::list(depends)),
            crate::attr("system", Value::string("x86_64-linux")),
            crate::attr("outputName", Value::string("out")),
            // The `.deb` itself, as nixpkgs' `src` (local mirrors, bills of materials).
            crate::attr(
                "src",
                Value::String(crate::host::out_path_string(&fetch_path, &deb)),
            ),
            crate::attr(
                "drvPath",
                Value::String(crate::host::drv_path_string(&drv_path)),
            ),
            crate::attr(
                "outPath",
                Value::String(crate::host::out_path_string(&drv_path, &out_path)),
            ),
        ])))
    }
}

/// The `pkgs` value: every name, each a lazy package, and `essentialPackages` (the archive's
/// `Essential: yes` packages) and `requiredPackages` (its `Priority: required` ones); the
/// profile library adds `linuxPackages` and `closureOf` on top, in `profiles/pkgs/default.nix`.
pub(crate) fn package_set(packages: &Rc<Packages>) -> Result<Value, DebianError> {
    let names = packages.names()?;
    let entries: Vec<AttrEntry> = names
        .into_iter()
        .map(|name| {
            let source = packages.clone();
            AttrEntry {
                name,
                value: Thunk::native(move |_| source.package(name.as_str())),
                pos: None,
            }
        })
        .collect();
    let mut entries = entries;
    // Not Debian names (those are lower-case), so they cannot hide a package.
    for (attribute, kind) in [
        ("essentialPackages", "essential"),
        ("requiredPackages", "required"),
    ] {
        let source = packages.clone();
        entries.push(AttrEntry {
            name: Symbol::intern(attribute),
            value: Thunk::native(move |_| {
                let names = source
                    .set_names(kind)
                    .map_err(|e| crate::host::host_error(&e))?;
                let mut values = Vec::with_capacity(names.len());
                for name in names {
                    values.push(source.package(&name)?);
                }
                Ok(Value::list(values))
            }),
            pos: None,
        });
    }
    Ok(Value::Attrs(Attrs::from_entries(entries)))
}
