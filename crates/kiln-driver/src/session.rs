//! A session: one store, the lock of what is evaluated, and the derivations evaluation
//! recorded. Every command opens one: `kiln eval`, `options`, `explain` and `repl` to evaluate
//! with Debian's packages from the lock (offline, adding nothing), `kiln build` and `kiln lock`
//! to evaluate, pin what the lock lacks, and realise.

use crate::host::Host;
use crate::pkgs::{package_set, Packages};
use crate::DriverError;
use kiln_builders::Registry;
use kiln_debian::{ArchiveOptions, Change, Lock};
use kiln_eval::{Coerce, EvalOptions, EvalResult, Evaluator, Thunk, Value};
use kiln_module::{Evaluated, Request, Source};
use kiln_store::{realise, DrvId, Events, Graph, RealiseOptions, Store};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::rc::Rc;

/// Where a session's `kiln.lock` comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LockFile {
    /// A file, read at open and written back by [`Session::save_lock`].
    Path(PathBuf),
    /// The lock embedded with kiln's own profile library (`profiles/kiln.lock`), for a profile
    /// of that library (`/@kiln/profiles/…`); read-only.
    Embedded,
}

impl LockFile {
    /// The lock for what `source` names: the embedded one for the embedded library, else the
    /// nearest `kiln.lock` in the file's directory or above it (the current directory's for
    /// an expression), else a new one beside the file.
    pub fn for_source(source: &Source) -> LockFile {
        match source {
            Source::File(path) if path.starts_with(kiln_module::LIB_ROOT) => LockFile::Embedded,
            Source::File(path) => LockFile::Path(lock_path_for(path)),
            Source::Expr { dir, .. } => LockFile::Path(lock_path_for(&dir.join("expr.nix"))),
        }
    }
}

/// How to open a session.
#[derive(Clone, Debug)]
pub struct SessionOptions {
    pub store: PathBuf,
    pub archive: ArchiveOptions,
    pub lock: LockFile,
    /// A package the lock lacks is an error instead of an addition (`--locked`, and every
    /// command that only evaluates).
    pub locked: bool,
    /// `kiln build --dry-run`: the store is opened read-only and the lock is never written, so
    /// the session writes nothing at all; [`Session::save_lock`] only says what it would pin.
    pub dry_run: bool,
    /// nix-instantiate's `--read-write-mode`: sources added during evaluation (`toFile`,
    /// `builtins.path`, `filterSource`, paths in strings) are written to the store at once, so
    /// the evaluation can read them back; without it they are computed only, as nix's are.
    pub read_write_mode: bool,
}

impl SessionOptions {
    /// For building what `source` names: the store at `$KILN_STORE` (else the user's cache),
    /// Debian bookworm, the source's lock; packages the lock lacks are pinned.
    pub fn for_build(source: &Source) -> SessionOptions {
        let lock = LockFile::for_source(source);
        SessionOptions {
            store: Store::default_root(),
            archive: ArchiveOptions::default(),
            locked: lock == LockFile::Embedded,
            lock,
            dry_run: false,
            read_write_mode: false,
        }
    }

    /// For evaluating only (`eval`, `options`, `explain`, `repl`): as [`Self::for_build`], but
    /// offline and locked, so evaluation never waits on the network and never writes the lock.
    pub fn for_evaluation(source: &Source) -> SessionOptions {
        let mut options = SessionOptions::for_build(source);
        options.archive.offline = true;
        options.locked = true;
        options
    }
}

/// The store side of evaluations and their realisation. Evaluators are attached to it
/// ([`Session::evaluator`], [`Session::attach`]): `kiln build` attaches one, the REPL one per
/// reload.
pub struct Session {
    host: Rc<Host>,
    packages: Rc<Packages>,
    store: Store,
    lock: LockFile,
    lock_was_present: bool,
    /// The lock as read at open: what `save_lock` merges this session's additions against.
    base_lock: Lock,
    dry_run: bool,
    registry: Rc<Registry>,
}

impl Session {
    pub fn open(options: SessionOptions) -> Result<Session, DriverError> {
        let store = if options.dry_run {
            Store::open_read_only(&options.store)?
        } else {
            Store::open(&options.store)?
        };
        let sources = kiln_builders::Sources::default();
        let registry = Rc::new(Registry::new(sources.clone()));
        let host = Rc::new(Host::new(
            store.clone(),
            !options.dry_run,
            registry.clone(),
            sources,
        ));
        host.set_write_sources(options.read_write_mode);
        let lock = match &options.lock {
            LockFile::Path(path) => Lock::read(path)?,
            LockFile::Embedded => Some(Lock::parse(
                kiln_module::EMBEDDED_LOCK,
                &format!("{}/profiles/kiln.lock", kiln_module::LIB_ROOT),
            )?),
        };
        let lock_was_present = lock.is_some();
        let lock = lock.unwrap_or_else(|| Lock {
            suite: options.archive.suite.clone(),
            components: options.archive.components.clone(),
            architecture: options.archive.architecture.clone(),
            ..Lock::default()
        });
        let base_lock = lock.clone();
        let packages = Rc::new(Packages::new(
            store.clone(),
            options.archive.clone(),
            lock,
            options.locked,
            host.clone(),
        ));
        Ok(Session {
            host,
            packages,
            store,
            lock: options.lock,
            lock_was_present,
            base_lock,
            dry_run: options.dry_run,
            registry,
        })
    }

    /// An evaluator for this session: kiln-module's (it reads the embedded library), with
    /// `builtins.storeDir` this store's and `derivation` and the store builtins recording
    /// into it.
    pub fn evaluator(&self, mut options: EvalOptions) -> Evaluator {
        options.store_dir = self.host.store_dir().to_string_lossy().into_owned();
        let mut ev = kiln_module::evaluator(options);
        self.attach(&mut ev);
        ev
    }

    /// Gives `ev` this session's store.
    pub fn attach(&self, ev: &mut Evaluator) {
        ev.set_store_host(self.host.clone());
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The Debian package set (`pkgs` before the profile library's additions), as a lazy
    /// value: reading the package names costs a few milliseconds, which an expression that
    /// is no profile never pays.
    pub fn debian(&self) -> Value {
        let packages = self.packages.clone();
        Thunk::native(move |_| package_set(&packages).map_err(|e| crate::host::host_error(&e)))
    }

    /// Evaluates what a command line names (see [`kiln_module::evaluate`]), with this
    /// session's packages. `ev` must be attached to this session.
    pub fn evaluate(&self, ev: &mut Evaluator, request: &Request) -> EvalResult<Evaluated> {
        kiln_module::evaluate(ev, request, self.debian()).map_err(|err| self.annotate(err))
    }

    /// Adds what only the session knows to an evaluation error, wherever it happened (while
    /// evaluating, or while printing what was selected): why a package name may be missing.
    pub fn annotate(&self, err: kiln_eval::EvalError) -> kiln_eval::EvalError {
        match err.kind() {
            kiln_eval::ErrorKind::MissingAttr { name, .. } if self.packages.only_locked.get() => {
                let hint = format!(
                    "this store has no Debian package list yet, so `pkgs` holds only kiln.lock's packages; \
                     if `{name}` is a Debian package, `kiln lock PROFILE` pins it (and fetches the list)"
                );
                err.hint(hint)
            }
            _ => err,
        }
    }

    /// `config.assertions` and `config.warnings` of an evaluated profile, as NixOS checks them
    /// before building: a failed assertion is an error naming every failed message; the
    /// warnings are returned for the caller to print.
    pub fn check_assertions(
        &self,
        ev: &mut Evaluator,
        root: &Value,
    ) -> Result<Vec<String>, DriverError> {
        let root = ev.force_attrs(root)?;
        let Some(config) = root.get_str("config") else {
            return Ok(Vec::new());
        };
        let config = ev.force_attrs(config)?;
        let mut failed = Vec::new();
        if let Some(assertions) = config.get_str("assertions") {
            for item in ev.force_list(assertions)?.iter() {
                let item = ev.force_attrs(item)?;
                let holds = match item.get_str("assertion") {
                    Some(v) => ev.force_bool(v)?,
                    None => true,
                };
                if !holds {
                    let message = match item.get_str("message") {
                        Some(m) => ev.force_string(m)?.as_str().to_string(),
                        None => "(no message)".to_string(),
                    };
                    failed.push(message);
                }
            }
        }
        if !failed.is_empty() {
            return Err(DriverError::Assertions { failed });
        }
        let mut warnings = Vec::new();
        if let Some(list) = config.get_str("warnings") {
            for item in ev.force_list(list)?.iter() {
                warnings.push(ev.force_string(item)?.as_str().to_string());
            }
        }
        Ok(warnings)
    }

    /// The derivations a value names: a derivation (its `outPath`), a string with context, or
    /// a list or set of those. Forces what it must.
    pub fn targets(&self, ev: &mut Evaluator, value: &Value) -> EvalResult<Vec<DrvId>> {
        let mut ids = Vec::new();
        self.collect_targets(ev, value, &mut ids)?;
        // Each once, in the order the value names them (`result`, `result-1`, ...).
        let mut seen = std::collections::BTreeSet::new();
        ids.retain(|id| seen.insert(*id));
        Ok(ids)
    }

    fn collect_targets(
        &self,
        ev: &mut Evaluator,
        value: &Value,
        ids: &mut Vec<DrvId>,
    ) -> EvalResult<()> {
        let value = ev.force(value)?;
        match &value {
            Value::List(items) => {
                for item in items.iter() {
                    self.collect_targets(ev, item, ids)?;
                }
            }
            Value::Attrs(attrs) if attrs.get_str("outPath").is_none() => {
                for entry in attrs.iter() {
                    self.collect_targets(ev, &entry.value, ids)?;
                }
            }
            _ => {
                let s = ev.coerce_to_string(&value, Coerce::Interpolation)?;
                if !s.has_context() {
                    return Err(kiln_eval::EvalError::invalid_argument(
                        "build",
                        format!(
                            "`{}` is not a derivation: there is nothing to build",
                            s.as_str()
                        ),
                    ));
                }
                let found = self
                    .host
                    .ids_of(s.context())
                    .map_err(|m| kiln_eval::EvalError::invalid_argument("build", m))?;
                ids.extend(found);
            }
        }
        Ok(())
    }

    /// The recorded derivation graph (for `--dry-run` and tests).
    pub fn graph(&self) -> Graph {
        self.host.recorded.borrow().graph.clone()
    }

    /// What realising `targets` would do: the steps whose outputs the store lacks, in
    /// dependency order.
    pub fn plan(&self, targets: &[DrvId]) -> Result<Plan, DriverError> {
        let graph = self.graph();
        let mut plan = Plan::default();
        // Installed sizes by unpack step name, from the lock.
        let installed: BTreeMap<String, Option<u64>> = self
            .packages
            .lock
            .borrow()
            .packages
            .values()
            .map(|pin| (kiln_debian::unpack_name(pin), pin.installed_size))
            .collect();
        let mut installed_kib = Some(0u64);
        for id in graph.closure(targets)? {
            let drv = graph.get(&id).expect("closure ids are in the graph");
            let entry = drv.entry()?;
            let fetch = kiln_debian::FetchInputs::of(drv);
            let step = PlanStep {
                name: drv.name.clone(),
                builder: drv.builder.clone(),
                path: self.store.path(&entry),
                download: fetch.as_ref().map(|f| f.size),
            };
            if fetch.is_some() {
                plan.packages += 1;
                plan.download += step.download.unwrap_or(0);
            }
            if drv.builder == kiln_debian::UNPACK_DEB {
                let size = installed.get(&drv.name).copied().flatten();
                installed_kib = installed_kib.zip(size).map(|(a, b)| a + b);
            }
            if self.store.contains(&entry) {
                plan.present.push(step);
            } else {
                plan.missing.push(step);
            }
        }
        plan.installed = installed_kib.map(|kib| kib * 1024);
        Ok(plan)
    }

    /// Builds `targets` (and what they need) and returns their store paths, in order.
    pub fn realise(
        &self,
        targets: &[DrvId],
        options: &RealiseOptions,
        events: &dyn Events,
    ) -> Result<Vec<PathBuf>, DriverError> {
        let graph = self.graph();
        let builders = self.registry.builders();
        let paths: BTreeMap<DrvId, PathBuf> =
            realise(&self.store, &graph, targets, &builders, options, events)?;
        Ok(targets.iter().map(|id| paths[id].clone()).collect())
    }

    /// `kiln build --check`: builds each target again (its inputs must be in the store) in a
    /// scratch directory and compares the rebuilt bytes with the bytes on disk, file by file, up
    /// to the first difference. Comparing with the entry itself, not with its record's hash, is
    /// what catches an entry damaged after it was registered.
    pub fn check(
        &self,
        targets: &[DrvId],
        events: &dyn Events,
    ) -> Result<Vec<CheckVerdict>, DriverError> {
        let graph = self.graph();
        let builders = self.registry.builders();
        let mut verdicts = Vec::new();
        for id in targets {
            let drv = graph
                .get(id)
                .ok_or_else(|| kiln_store::StoreError::MissingInput {
                    name: format!("{:?}", id.0),
                })?;
            let entry = drv.entry()?;
            let mut held = vec![entry.clone()];
            for input in &drv.inputs {
                held.push(graph.get(input).expect("inputs are in the graph").entry()?);
            }
            // Held, so `gc` cannot take the entry or its inputs while they are read.
            let present = self.store.hold(&held)?;
            let info = self
                .store
                .info(&entry)?
                .filter(|_| present.iter().all(|p| *p))
                .ok_or_else(|| DriverError::NotBuilt {
                    name: drv.name.clone(),
                })?;
            let inputs: Vec<PathBuf> = held[1..].iter().map(|e| self.store.path(e)).collect();
            let builder = builders.get(drv.builder.as_str()).ok_or_else(|| {
                kiln_store::StoreError::UnknownBuilder {
                    builder: drv.builder.clone(),
                    name: drv.name.clone(),
                }
            })?;
            let out = self.store.scratch(entry.as_str())?;
            events.started(drv);
            let start = std::time::Instant::now();
            let built = builder.build(drv, &inputs, &out, events);
            let took = start.elapsed();
            events.finished(drv, built.as_ref().err());
            let verdict = built
                .map_err(|source| DriverError::Check {
                    name: drv.name.clone(),
                    source,
                })
                .and_then(|()| self.compare(&info, &out));
            let removed = self.store.remove_scratch(&out);
            let difference = verdict?;
            removed?;
            verdicts.push(CheckVerdict {
                name: drv.name.clone(),
                took,
                difference,
            });
        }
        Ok(verdicts)
    }

    /// How a rebuilt tree differs from the registered entry, if it does.
    fn compare(
        &self,
        info: &kiln_store::EntryInfo,
        rebuilt: &Path,
    ) -> Result<Option<CheckDifference>, DriverError> {
        let registered = self.store.path(&info.entry);
        let found = kiln_store::compare_trees(&registered, rebuilt)
            .map_err(|e| DriverError::io("compare with", &registered, e))?;
        let Some(difference) = found else {
            return Ok(None);
        };
        // Which side is wrong: a rebuild matching the record means the entry changed on disk.
        let rebuilt_hash = kiln_store::hash_tree_as(rebuilt, info.format)
            .map_err(|e| DriverError::io("hash", rebuilt, e))?;
        Ok(Some(CheckDifference {
            difference,
            entry_damaged: rebuilt_hash == info.content,
        }))
    }

    /// `kiln build --repair`: re-hashes every entry `targets` need that the store has, and
    /// removes the damaged ones so that realising builds them again. Returns what it found.
    pub fn repair(&self, targets: &[DrvId]) -> Result<Vec<kiln_store::Damage>, DriverError> {
        let graph = self.graph();
        let mut entries = Vec::new();
        for id in graph.closure(targets)? {
            entries.push(
                graph
                    .get(&id)
                    .expect("closure ids are in the graph")
                    .entry()?,
            );
        }
        self.store.hold(&entries)?;
        Ok(self.store.verify_entries(&entries, true)?.damage)
    }

    /// Writes the lock back if evaluation added pins, and returns what changed. The write
    /// merges with the file as it is now, under a lock (see `Lock::write_merged`), so
    /// concurrent kilns adding to one lock keep each other's additions. A dry run writes
    /// nothing and only returns what it would pin.
    pub fn save_lock(&self) -> Result<Vec<Change>, DriverError> {
        let changes = self.packages.changes.borrow().clone();
        let new_lock = !self.lock_was_present && !self.packages.lock.borrow().packages.is_empty();
        let changed = !changes.is_empty() || new_lock || self.packages.sets_changed.get();
        if let (LockFile::Path(path), true, false) = (&self.lock, changed, self.dry_run) {
            self.packages
                .lock
                .borrow()
                .write_merged(path, &self.base_lock)?;
        }
        Ok(changes)
    }

    /// `kiln lock --update`: re-pins every request of the lock to the archive's current versions.
    pub fn update_lock(&self) -> Result<Vec<Change>, DriverError> {
        let LockFile::Path(path) = &self.lock else {
            return Err(DriverError::EmbeddedLock);
        };
        let changes = self.packages.update()?;
        self.packages.lock.borrow().write(path)?;
        Ok(changes)
    }

    /// Points `link` at `path` (atomically) and registers it as a garbage-collection root.
    /// Only a result link (a symlink to a store entry) is replaced: anything else at `link` is
    /// an error, and on every error path the temporary link is removed again.
    pub fn link_result(&self, path: &Path, link: &Path) -> Result<(), DriverError> {
        match std::fs::symlink_metadata(link) {
            Ok(meta) if meta.file_type().is_symlink() => {
                let target =
                    std::fs::read_link(link).map_err(|e| DriverError::io("read", link, e))?;
                let ours = target
                    .file_name()
                    .and_then(|name| name.to_str())
                    .is_some_and(|name| kiln_store::EntryName::parse(name).is_ok());
                if !ours {
                    return Err(DriverError::OutLinkTaken {
                        path: link.to_path_buf(),
                        what: format!("a symlink to `{}`", target.display()),
                    });
                }
            }
            Ok(meta) => {
                return Err(DriverError::OutLinkTaken {
                    path: link.to_path_buf(),
                    what: if meta.is_dir() {
                        "a directory"
                    } else {
                        "a file"
                    }
                    .into(),
                })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(DriverError::io("inspect", link, e)),
        }
        let name = link
            .file_name()
            .ok_or_else(|| DriverError::OutLinkTaken {
                path: link.to_path_buf(),
                what: "not a file name".into(),
            })?
            .to_string_lossy();
        let tmp = link.with_file_name(format!(".{name}.kiln-tmp-{}", std::process::id()));
        let _ = std::fs::remove_file(&tmp);
        std::os::unix::fs::symlink(path, &tmp).map_err(|e| DriverError::io("link", &tmp, e))?;
        if let Err(e) = std::fs::rename(&tmp, link) {
            let _ = std::fs::remove_file(&tmp);
            return Err(DriverError::io("link", link, e));
        }
        self.store.add_root(link)?;
        Ok(())
    }
}

impl Drop for Session {
    /// The store's registration ends with the session, not with the last clone of its store:
    /// the package set's thunks keep clones inside evaluator values, whose cycles are never
    /// freed, and the registration's temporary directory would outlive the command.
    fn drop(&mut self) {
        self.store.end_registration();
    }
}

/// What `--check` found for one target.
#[derive(Clone, Debug)]
pub struct CheckVerdict {
    pub name: String,
    /// How long the builder took (without the comparison).
    pub took: std::time::Duration,
    /// `None`: the same bytes.
    pub difference: Option<CheckDifference>,
}

/// How a rebuild differs from the store's entry.
#[derive(Clone, Debug)]
pub struct CheckDifference {
    /// The first difference, as found walking both trees.
    pub difference: kiln_store::Difference,
    /// The rebuild matches the entry's record, so the entry changed after it was registered
    /// (the store is damaged, not the build irreproducible); `--repair` replaces it.
    pub entry_damaged: bool,
}

/// What a build would do.
#[derive(Clone, Debug, Default)]
pub struct Plan {
    pub missing: Vec<PlanStep>,
    pub present: Vec<PlanStep>,
    /// Debian packages in the closure, fetched or not.
    pub packages: usize,
    /// Their `.deb`s' total size in bytes.
    pub download: u64,
    /// Their installed size in bytes, when the lock records it for every one.
    pub installed: Option<u64>,
}

/// One step of a [`Plan`].
#[derive(Clone, Debug)]
pub struct PlanStep {
    pub name: String,
    pub builder: String,
    pub path: PathBuf,
    /// Bytes to download, for fetches.
    pub download: Option<u64>,
}

/// The `kiln.lock` for a file: the nearest one in the file's directory or above it, else a
/// new one beside the file.
pub fn lock_path_for(file: &Path) -> PathBuf {
    let dir = file
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    let dir = if dir.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        dir
    };
    let mut probe = std::fs::canonicalize(&dir).unwrap_or_else(|_| dir.clone());
    loop {
        let candidate = probe.join("kiln.lock");
        if candidate.exists() {
            return candidate;
        }
        if !probe.pop() {
            return dir.join("kiln.lock");
        }
    }
}
