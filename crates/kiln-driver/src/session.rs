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
    registry: Rc<Registry>,
}

impl Session {
    pub fn open(options: SessionOptions) -> Result<Session, DriverError> {
        let store = Store::open(&options.store)?;
        let store_dir = std::fs::canonicalize(store.root())
            .map_err(|e| DriverError::io("open the store", store.root(), e))?;
        let sources = kiln_builders::Sources::default();
        let registry = Rc::new(Registry::new(sources.clone()));
        let host = Rc::new(Host::new(store_dir, registry.clone(), sources));
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
    /// scratch directory and compares the result with the registered entry's content hash.
    /// Returns, per target, its name, whether the bytes were the same, and how long the
    /// builder took (without the hashing).
    pub fn check(
        &self,
        targets: &[DrvId],
        events: &dyn Events,
    ) -> Result<Vec<(String, bool, std::time::Duration)>, DriverError> {
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
            let info = self
                .store
                .info(&entry)?
                .ok_or_else(|| DriverError::NotBuilt {
                    name: drv.name.clone(),
                })?;
            let mut inputs = Vec::new();
            for input in &drv.inputs {
                let input = graph.get(input).expect("inputs are in the graph").entry()?;
                inputs.push(self.store.path(&input));
            }
            let builder = builders.get(drv.builder.as_str()).ok_or_else(|| {
                kiln_store::StoreError::UnknownBuilder {
                    builder: drv.builder.clone(),
                    name: drv.name.clone(),
                }
            })?;
            let scratch = tempfile::Builder::new()
                .prefix(".check-")
                .tempdir_in(self.store.root())
                .map_err(|e| {
                    DriverError::io("create a scratch directory in", self.store.root(), e)
                })?;
            let out = scratch.path().join(entry.as_str());
            events.started(drv);
            let start = std::time::Instant::now();
            let built = builder.build(drv, &inputs, &out, events);
            let took = start.elapsed();
            events.finished(drv, built.as_ref().err());
            built.map_err(|source| DriverError::Check {
                name: drv.name.clone(),
                source,
            })?;
            let digest =
                kiln_store::hash_tree(&out).map_err(|e| DriverError::io("hash", &out, e))?;
            verdicts.push((drv.name.clone(), digest == info.content, took));
        }
        Ok(verdicts)
    }

    /// Writes the lock back if evaluation added pins; returns what changed.
    pub fn save_lock(&self) -> Result<Vec<Change>, DriverError> {
        let changes = self.packages.changes.borrow().clone();
        let new_lock = !self.lock_was_present && !self.packages.lock.borrow().packages.is_empty();
        let changed = !changes.is_empty() || new_lock || self.packages.sets_changed.get();
        if let (LockFile::Path(path), true) = (&self.lock, changed) {
            self.packages.lock.borrow().write(path)?;
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
    pub fn link_result(&self, path: &Path, link: &Path) -> Result<(), DriverError> {
        let mut tmp = link.as_os_str().to_owned();
        tmp.push(format!(".tmp{}", std::process::id()));
        let tmp = PathBuf::from(tmp);
        let _ = std::fs::remove_file(&tmp);
        std::os::unix::fs::symlink(path, &tmp).map_err(|e| DriverError::io("link", &tmp, e))?;
        std::fs::rename(&tmp, link).map_err(|e| DriverError::io("link", link, e))?;
        self.store.add_root(link)?;
        Ok(())
    }
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
