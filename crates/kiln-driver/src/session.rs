//! A build session: one evaluator wired to one store, the lock beside the profile, and the
//! derivations evaluation recorded — from `kiln build PROFILE` to realised store paths.

use crate::builders::Registry;
use crate::host::Host;
use crate::pkgs::{package_set, Packages};
use crate::DriverError;
use kiln_debian::{ArchiveOptions, Change, Lock};
use kiln_eval::{Coerce, EvalOptions, EvalResult, Evaluator, Value};
use kiln_store::{realise, DrvId, Events, Graph, RealiseOptions, Store};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::rc::Rc;

/// How to open a session.
#[derive(Clone, Debug)]
pub struct SessionOptions {
    pub store: PathBuf,
    pub archive: ArchiveOptions,
    /// `kiln.lock`: read at open, written back by [`Session::save_lock`].
    pub lock_path: PathBuf,
    /// `--locked`: a package the lock lacks is an error instead of an addition.
    pub locked: bool,
}

impl SessionOptions {
    /// The defaults for building `profile`: the store at `$KILN_STORE` (else the user's cache),
    /// Debian bookworm from the host's mirror, the profile's `kiln.lock`, `NIX_PATH`.
    pub fn for_profile(profile: &Path) -> SessionOptions {
        SessionOptions {
            store: Store::default_root(),
            archive: ArchiveOptions::default(),
            lock_path: lock_path_for(profile),
            locked: false,
        }
    }
}

/// The store side of evaluations and their realisation. Evaluators are attached to it
/// ([`Session::attach`]): `kiln build` attaches one, the REPL its own.
pub struct Session {
    host: Rc<Host>,
    packages: Rc<Packages>,
    store: Store,
    lock_path: PathBuf,
    lock_was_present: bool,
    registry: Registry,
}

impl Session {
    pub fn open(options: SessionOptions) -> Result<Session, DriverError> {
        let store = Store::open(&options.store)?;
        let store_dir = std::fs::canonicalize(store.root())
            .map_err(|e| DriverError::io("open the store", store.root(), e))?;
        let host = Rc::new(Host::new(store_dir, Registry::names()));
        let registry = Registry::new(host.sources.clone());
        let lock = Lock::read(&options.lock_path)?;
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
            lock_path: options.lock_path,
            lock_was_present,
            registry,
        })
    }

    /// Gives `ev` this session's store: `derivation` records into it.
    pub fn attach(&self, ev: &mut Evaluator) {
        ev.set_store_host(self.host.clone());
    }

    /// An evaluator for profiles (kiln-module's, reading the embedded library) attached to
    /// this session.
    pub fn evaluator(&self, options: EvalOptions) -> Evaluator {
        let mut ev = kiln_module::evaluator(options);
        self.attach(&mut ev);
        ev
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The Debian package set (`pkgs` before the profile library's additions).
    pub fn packages(&self) -> Result<Value, DriverError> {
        Ok(package_set(&self.packages)?)
    }

    /// Evaluates a profile with Debian's packages: `{ config; options; }`, lazily. `ev` must
    /// be attached to this session.
    pub fn eval_profile(&self, ev: &mut Evaluator, profile: &Path) -> Result<Value, DriverError> {
        let pkgs = self.packages()?;
        Ok(kiln_module::eval_profile_with(ev, profile, pkgs)?)
    }

    /// `config.assertions` and `config.warnings` of an evaluated profile, as NixOS checks them
    /// before building: a failed assertion is an error naming every failed message; the
    /// warnings are returned for the caller to print.
    pub fn check_assertions(
        &self,
        ev: &mut Evaluator,
        result: &Value,
    ) -> Result<Vec<String>, DriverError> {
        let config = crate::select(ev, result, "config")?;
        let config = ev.force_attrs(&config)?;
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
            .map(|pin| {
                let fetch = kiln_debian::fetch_derivation(pin, "").id();
                (
                    kiln_debian::unpack_derivation(pin, fetch).name,
                    pin.installed_size,
                )
            })
            .collect();
        let mut installed_kib = Some(0u64);
        for id in graph.closure(targets)? {
            let drv = graph.get(&id).expect("closure ids are in the graph");
            let entry = drv.entry()?;
            let step = PlanStep {
                name: drv.name.clone(),
                builder: drv.builder.clone(),
                path: self.store.path(&entry),
                download: (drv.builder == kiln_debian::FETCH_DEB)
                    .then(|| drv.args.get(2).and_then(|s| s.parse().ok()))
                    .flatten(),
            };
            if drv.builder == kiln_debian::FETCH_DEB {
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
            let info = self.store.info(&entry)?.ok_or_else(|| DriverError::Check {
                name: drv.name.clone(),
                message: "it is not in the store yet; build it first".into(),
            })?;
            let mut inputs = Vec::new();
            for input in &drv.inputs {
                let input = graph.get(input).expect("inputs are in the graph").entry()?;
                inputs.push(self.store.path(&input));
            }
            let builder = builders
                .get(drv.builder.as_str())
                .ok_or_else(|| DriverError::Check {
                    name: drv.name.clone(),
                    message: format!("no builder `{}`", drv.builder),
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
            events.finished(drv, &built);
            built.map_err(|message| DriverError::Check {
                name: drv.name.clone(),
                message,
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
        if !changes.is_empty()
            || !self.lock_was_present && !self.packages.lock.borrow().packages.is_empty()
        {
            self.packages.lock.borrow().write(&self.lock_path)?;
        }
        Ok(changes)
    }

    /// `kiln lock --update`: re-pins every request of the lock to the archive's current versions.
    pub fn update_lock(&self) -> Result<Vec<Change>, DriverError> {
        let changes = self.packages.update()?;
        self.packages.lock.borrow().write(&self.lock_path)?;
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

/// The `kiln.lock` for a profile: the nearest one in the profile's directory or above it, else
/// a new one beside the profile.
pub fn lock_path_for(profile: &Path) -> PathBuf {
    let dir = profile
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
