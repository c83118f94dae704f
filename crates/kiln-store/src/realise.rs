//! Realisation: build a derivation graph in dependency order, independent steps in parallel.
//!
//! The scheduler counts, for each needed derivation, the inputs not yet built; a step whose
//! count reaches zero is spawned on a rayon pool of `jobs` threads. Steps already in the
//! store are never run. After the first failure no new step starts, the running ones finish,
//! and every failure is reported together.
//!
//! Several realisations may run at once on one store, in one process or many: each step is
//! built under its entry's lock, so a step two of them need is built once, and the second
//! waits for it and reuses it ([`Events::reused`]). Every entry a realisation reads is held
//! ([`Store::hold`]) before it is found present, so `gc` cannot take it away meanwhile.

use crate::derivation::{Derivation, DrvId};
use crate::error::{BuildError, StoreError, StoreResult};
use crate::store::{Added, EntryName, Store};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Knows how to build one kind of derivation. Builders read their derivation's attributes
/// into a typed struct with [`crate::inputs`], which also keeps them to their inputs.
pub trait Builder: Sync {
    /// Checks `drv`'s attributes at evaluation time, before anything is built: `inputs` are
    /// the out paths of the derivation's inputs, which need not exist yet.
    fn check(&self, drv: &Derivation, inputs: &[PathBuf]) -> Result<(), BuildError>;

    /// Fills `out` (a path that does not exist yet) from `inputs` (the input derivations'
    /// store paths, in the derivation's order).
    fn build(
        &self,
        drv: &Derivation,
        inputs: &[PathBuf],
        out: &Path,
        events: &dyn Events,
    ) -> Result<(), BuildError>;
}

/// What realisation reports while it runs (a progress display, a log, or nothing).
pub trait Events: Sync {
    fn started(&self, _drv: &Derivation) {}
    /// Bytes moved by a running step (downloads), for progress bars.
    fn progress(&self, _drv: &Derivation, _done: u64, _total: Option<u64>) {}
    /// A step ended; `error` says why it failed.
    fn finished(&self, _drv: &Derivation, _error: Option<&BuildError>) {}
    /// A step that another build (another kiln, say) was building meanwhile: this realisation
    /// waited for it and reuses its entry instead of building it again.
    fn reused(&self, _drv: &Derivation) {}
    /// A line a running step wants the user to see (a warning, say).
    fn message(&self, _drv: &Derivation, _text: &str) {}
    /// A step's entry is being fetched from a binary cache (its bytes come as [`Events::progress`]).
    fn fetching(&self, _drv: &Derivation) {}
    /// A step's entry came from a binary cache ([`Substituter`]) instead of being built.
    fn substituted(&self, _drv: &Derivation) {}
}

/// A source of finished entries (a binary cache), asked before each missing step is built.
///
/// **Invariant:** an implementation puts into `out` only what it has verified (a trusted
/// signature, and content that hashes to what was signed); the store then seals, hashes and
/// registers `out` exactly as it would a builder's output. Anything else leaves `out` absent
/// and returns `false`, and the step is built locally: a cache can make a build faster, never
/// make it fail.
pub trait Substituter: Send + Sync + std::fmt::Debug {
    /// Called once, before any step runs, with the entries this realisation lacks, in
    /// dependency order: a substituter may start fetching them ahead of the steps.
    fn prepare(&self, _wanted: &[EntryName]) {}

    /// Fills `out` (a path that does not exist yet) with `entry` from a cache; whether it did.
    /// Called under the entry's build lock, after the step's inputs are in the store.
    fn substitute(
        &self,
        drv: &Derivation,
        entry: &EntryName,
        out: &Path,
        events: &dyn Events,
    ) -> bool;
}

/// Reports nothing.
pub struct Quiet;
impl Events for Quiet {}

/// A set of derivations closed under inputs.
#[derive(Clone, Debug, Default)]
pub struct Graph {
    drvs: BTreeMap<DrvId, Derivation>,
}

impl Graph {
    pub fn new() -> Graph {
        Graph::default()
    }

    /// Adds a derivation (its inputs must be added too, before realising) and returns its id.
    pub fn add(&mut self, drv: Derivation) -> DrvId {
        let id = drv.id();
        self.drvs.insert(id, drv);
        id
    }

    pub fn get(&self, id: &DrvId) -> Option<&Derivation> {
        self.drvs.get(id)
    }

    pub fn len(&self) -> usize {
        self.drvs.len()
    }

    /// Every derivation, by id.
    pub fn iter(&self) -> impl Iterator<Item = (&DrvId, &Derivation)> {
        self.drvs.iter()
    }

    pub fn is_empty(&self) -> bool {
        self.drvs.is_empty()
    }

    /// The ids `targets` need, including themselves, in a dependency-respecting order.
    pub fn closure(&self, targets: &[DrvId]) -> StoreResult<Vec<DrvId>> {
        let mut order = Vec::new();
        let mut state: BTreeMap<DrvId, bool> = BTreeMap::new(); // false: visiting, true: done
        for target in targets {
            self.visit(*target, &mut state, &mut order)?;
        }
        Ok(order)
    }

    fn visit(
        &self,
        id: DrvId,
        state: &mut BTreeMap<DrvId, bool>,
        order: &mut Vec<DrvId>,
    ) -> StoreResult<()> {
        match state.get(&id) {
            Some(true) => return Ok(()),
            Some(false) => {
                let name = self
                    .drvs
                    .get(&id)
                    .map_or_else(String::new, |d| d.name.clone());
                return Err(StoreError::Cycle { name });
            }
            None => {}
        }
        let drv = self.drvs.get(&id).ok_or_else(|| StoreError::MissingInput {
            name: format!("{:?}", id.0),
        })?;
        state.insert(id, false);
        for input in &drv.inputs {
            if !self.drvs.contains_key(input) {
                return Err(StoreError::MissingInput {
                    name: drv.name.clone(),
                });
            }
            self.visit(*input, state, order)?;
        }
        state.insert(id, true);
        order.push(id);
        Ok(())
    }
}

/// How to realise.
#[derive(Clone, Debug, Default)]
pub struct RealiseOptions {
    /// Steps run at once; 0 means one per core.
    pub jobs: usize,
    /// No network: a missing fixed-output entry (a download) is an error naming every such
    /// entry, checked before anything runs; the other steps build from what the store has.
    pub offline: bool,
    /// Binary caches to try before building each missing step.
    pub substituter: Option<std::sync::Arc<dyn Substituter>>,
}

/// Looks builders up by the name a derivation gives.
pub type Builders<'a> = BTreeMap<&'a str, &'a dyn Builder>;

/// Builds what `targets` need and returns every needed derivation's store path.
pub fn realise(
    store: &Store,
    graph: &Graph,
    targets: &[DrvId],
    builders: &Builders<'_>,
    options: &RealiseOptions,
    events: &dyn Events,
) -> StoreResult<BTreeMap<DrvId, PathBuf>> {
    let order = graph.closure(targets)?;
    let mut entries: BTreeMap<DrvId, EntryName> = BTreeMap::new();
    let names = order
        .iter()
        .map(|id| graph.drvs[id].entry())
        .collect::<StoreResult<Vec<EntryName>>>()?;
    let present = store.hold(&names)?;
    let mut todo: Vec<DrvId> = Vec::new();
    for ((id, entry), present) in order.iter().zip(names).zip(present) {
        let drv = &graph.drvs[id];
        if !present {
            if !builders.contains_key(drv.builder.as_str()) {
                return Err(StoreError::UnknownBuilder {
                    builder: drv.builder.clone(),
                    name: drv.name.clone(),
                });
            }
            todo.push(*id);
        }
        entries.insert(*id, entry);
    }
    if options.offline {
        let missing: Vec<String> = todo
            .iter()
            .filter(|id| graph.drvs[id].fixed_output.is_some())
            .map(|id| entries[id].to_string())
            .collect();
        if !missing.is_empty() {
            return Err(StoreError::OfflineMissing { missing });
        }
    }
    if let Some(substituter) = &options.substituter {
        let wanted: Vec<EntryName> = todo.iter().map(|id| entries[id].clone()).collect();
        substituter.prepare(&wanted);
    }
    if !todo.is_empty() {
        run_steps(store, graph, &todo, &entries, builders, options, events)?;
    }
    Ok(entries
        .into_iter()
        .map(|(id, entry)| (id, store.path(&entry)))
        .collect())
}

struct Schedule {
    /// For each pending step, how many of its inputs are still pending.
    waiting: BTreeMap<DrvId, usize>,
    /// For each step, the pending steps that need it.
    dependents: BTreeMap<DrvId, Vec<DrvId>>,
    failures: Vec<StoreError>,
}

fn run_steps(
    store: &Store,
    graph: &Graph,
    todo: &[DrvId],
    entries: &BTreeMap<DrvId, EntryName>,
    builders: &Builders<'_>,
    options: &RealiseOptions,
    events: &dyn Events,
) -> StoreResult<()> {
    let pending: BTreeSet<DrvId> = todo.iter().copied().collect();
    let mut schedule = Schedule {
        waiting: BTreeMap::new(),
        dependents: BTreeMap::new(),
        failures: Vec::new(),
    };
    for id in todo {
        let inputs: BTreeSet<DrvId> = graph.drvs[id]
            .inputs
            .iter()
            .filter(|i| pending.contains(i))
            .copied()
            .collect();
        for input in &inputs {
            schedule.dependents.entry(*input).or_default().push(*id);
        }
        schedule.waiting.insert(*id, inputs.len());
    }
    let ready: Vec<DrvId> = todo
        .iter()
        .filter(|id| schedule.waiting[id] == 0)
        .copied()
        .collect();
    let schedule = Mutex::new(schedule);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(options.jobs)
        .build()
        .map_err(|e| StoreError::BuildFailed {
            name: "scheduler".into(),
            source: BuildError::message(e.to_string()),
        })?;
    let ctx = Ctx {
        store,
        graph,
        entries,
        builders,
        events,
        substituter: options.substituter.as_deref(),
        schedule: &schedule,
    };
    pool.scope(|scope| {
        for id in ready {
            scope.spawn(move |scope| ctx.run(scope, id));
        }
    });
    let failures = schedule
        .into_inner()
        .map_or_else(|e| e.into_inner().failures, |s| s.failures);
    match failures.len() {
        0 => Ok(()),
        1 => Err(failures.into_iter().next().expect("one failure")),
        _ => Err(StoreError::Failed { failures }),
    }
}

#[derive(Clone, Copy)]
struct Ctx<'a> {
    store: &'a Store,
    graph: &'a Graph,
    entries: &'a BTreeMap<DrvId, EntryName>,
    builders: &'a Builders<'a>,
    events: &'a dyn Events,
    substituter: Option<&'a dyn Substituter>,
    schedule: &'a Mutex<Schedule>,
}

impl<'a> Ctx<'a> {
    fn run(self, scope: &rayon::Scope<'a>, id: DrvId) {
        let result = self.build(id);
        let mut schedule = self.schedule.lock().unwrap_or_else(|e| e.into_inner());
        match result {
            Err(err) => schedule.failures.push(err),
            Ok(()) if schedule.failures.is_empty() => {
                for dependent in schedule.dependents.remove(&id).unwrap_or_default() {
                    let count = schedule
                        .waiting
                        .get_mut(&dependent)
                        .expect("every pending step is counted");
                    *count -= 1;
                    if *count == 0 {
                        scope.spawn(move |scope| self.run(scope, dependent));
                    }
                }
            }
            Ok(()) => {}
        }
    }

    fn build(&self, id: DrvId) -> StoreResult<()> {
        let drv = &self.graph.drvs[&id];
        let builder = self.builders[drv.builder.as_str()];
        let inputs: Vec<PathBuf> = drv
            .inputs
            .iter()
            .map(|i| self.store.path(&self.entries[i]))
            .collect();
        let references: Vec<EntryName> =
            drv.inputs.iter().map(|i| self.entries[i].clone()).collect();
        let started = std::cell::Cell::new(false);
        let substituted = std::cell::Cell::new(false);
        let entry = &self.entries[&id];
        let result = self
            .store
            .add_reporting(&id.0, &drv.name, &references, None, |out| {
                if let Some(substituter) = self.substituter {
                    if substituter.substitute(drv, entry, out, self.events) {
                        substituted.set(true);
                        return Ok(());
                    }
                }
                started.set(true);
                self.events.started(drv);
                builder.build(drv, &inputs, out, self.events)
            });
        match &result {
            Ok((_, Added::Waited)) => self.events.reused(drv),
            Ok((_, Added::Present)) => {}
            Ok((_, Added::Built)) if substituted.get() => self.events.substituted(drv),
            Ok((_, Added::Built)) => self.events.finished(drv, None),
            Err(StoreError::BuildFailed { source, .. }) => self.events.finished(drv, Some(source)),
            Err(err) if started.get() => {
                self.events
                    .finished(drv, Some(&BuildError::message(err.to_string())));
            }
            Err(_) => {}
        }
        result.map(|_| ())
    }
}
