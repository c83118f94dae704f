//! A cycle collector for the reference cycles that `Rc` cannot free.
//!
//! # Where cycles come from
//! Values are immutable once built, with two exceptions: a thunk's state is replaced by its
//! value, and the slots of a `let`, `rec` or set-pattern environment are filled right after the
//! environment is made, with thunks that refer to the environment itself (`let f = x: f x;`).
//! Every other reference points from a newer object to an older one, so a cycle needs one of
//! those late edges, and following it back shows that every cycle passes through a thunk and
//! through such a *recursive environment*. The evaluator registers each recursive environment
//! here (a weak reference), and the collector starts from them.
//!
//! # How garbage is found (trial deletion, as CPython's `gc` does it)
//! From the live registered environments the collector walks everything they reach (thunks,
//! environments, closures, sets, lists, partial applications) and counts, for each object, the
//! references that come from inside that subgraph. An object whose strong count is larger has a
//! reference from outside: a local of the running evaluation, the evaluator's import cache, the
//! REPL's scope, a value held by the caller. Everything such an object reaches is live; the rest
//! is garbage, referenced only by itself. The collector then replaces the state of every garbage
//! thunk by a black hole, which drops what it held; since every cycle passes through a thunk,
//! that breaks every garbage cycle and `Rc` frees the rest.
//!
//! This is sound without knowing the roots: a reference the walk does not see (a Rust local, a
//! native thunk's captured values, the IR's constants) is by construction an outside reference,
//! so it can only make the collector keep more. It never mutates anything reachable.
//!
//! # When it runs
//! `Evaluator::collect_cycles` runs it on demand: the REPL calls it when `:r` replaces an
//! evaluation. Registering is a weak pointer pushed on a list; dead entries are pruned whenever the
//! list doubles. A full collection walks everything the live environments reach, which in one
//! large evaluation is most of the heap, so it does not run automatically during an
//! evaluation (measured in `BENCHMARKS.md`); a one-shot `kiln eval` hands its memory back at exit.
//!
//! Design decision: trial deletion over `Rc` rather than an arena per evaluation or weak
//! back-edges. An arena never frees during an evaluation (the module benchmarks allocate about
//! 2.5 times their peak), and a weak back-edge from a `let`'s thunks to its environment would
//! leave `let f = …; in f` pointing at a freed environment once only `f` is held.

use crate::eval::{Env, Slots};
use crate::symbol::BuildFxHasher;
use crate::value::{Attrs, Closure, List, PrimOpApp, Thunk, ThunkState, Value};
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::{Rc, Weak};

thread_local! {
    static REGISTRY: RefCell<Registry> = const { RefCell::new(Registry::new()) };
}

/// The recursive environments (and other cycle seeds) made on this thread.
struct Registry {
    envs: Vec<Weak<Env>>,
    thunks: Vec<Weak<RefCell<ThunkState>>>,
    /// Prune dead entries when `envs` reaches this length.
    prune_at: usize,
}

impl Registry {
    const fn new() -> Registry {
        Registry {
            envs: Vec::new(),
            thunks: Vec::new(),
            prune_at: 1024,
        }
    }
}

/// Records a recursive environment (see the module comment).
pub(crate) fn register_env(env: &Rc<Env>) {
    REGISTRY.with(|registry| {
        let mut registry = registry.borrow_mut();
        registry.envs.push(Rc::downgrade(env));
        if registry.envs.len() >= registry.prune_at {
            // A dead entry still holds its environment's allocation (the `Weak`); the slots
            // themselves were freed with the environment.
            registry.envs.retain(|env| env.strong_count() > 0);
            registry.prune_at = (registry.envs.len() * 2).max(1024);
        }
    });
}

/// The common garbage cycle, freed without a collection: a `let` (or default arguments) whose
/// environment is referenced only by thunks and closures held by its own slots, when the code
/// that made it lets go of it. `let go = x: … go …; in go cfg` leaves exactly that behind:
/// the environment, the thunk of `go` and its closure, referencing each other.
///
/// `env` is the creator's reference. Counting the references into it that come from its own
/// slots (a thunk held by nothing else, suspended in `env` or evaluated to a closure of `env`
/// held by nothing else) tells whether anything else does; if not, those thunks are cleared,
/// which breaks the cycle, and dropping `env` frees it all. Anything less certain (a shared
/// thunk, a deeper path) is left to the collector.
pub(crate) fn release_env(env: &Rc<Env>) {
    let strong = Rc::strong_count(env);
    if strong == 1 {
        return;
    }
    let Slots::Many(slots) = &env.slots else {
        return;
    };
    let own_reference = |value: &Value| -> bool {
        let Value::Thunk(thunk) = value else {
            return false;
        };
        if Rc::strong_count(&thunk.0) != 1 {
            return false;
        }
        match thunk.0.try_borrow().as_deref() {
            Ok(ThunkState::Suspended { env: e, .. }) => Rc::ptr_eq(e, env),
            Ok(ThunkState::Done(Value::Lambda(closure))) => {
                Rc::ptr_eq(&closure.env, env) && Rc::strong_count(closure) == 1
            }
            _ => false,
        }
    };
    let internal = slots
        .iter()
        .filter_map(|slot| slot.get())
        .filter(|v| own_reference(v))
        .count();
    if strong != 1 + internal {
        return;
    }
    for value in slots.iter().filter_map(|slot| slot.get()) {
        if own_reference(value) {
            if let Value::Thunk(thunk) = value {
                let state = thunk
                    .0
                    .try_borrow_mut()
                    .map(|mut state| std::mem::replace(&mut *state, ThunkState::Blackhole));
                drop(state);
            }
        }
    }
}

/// Records a thunk that may be part of a cycle without a recursive environment (the knot that
/// makes `builtins.builtins` the set itself).
pub(crate) fn register_thunk(thunk: &Thunk) {
    REGISTRY.with(|registry| registry.borrow_mut().thunks.push(Rc::downgrade(&thunk.0)));
}

/// What a collection did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CollectStats {
    /// Objects the walk visited.
    pub visited: usize,
    /// Of those, objects found unreachable from outside.
    pub garbage: usize,
}

/// One object of the walk, held by a strong reference.
#[derive(Clone)]
enum Node {
    Env(Rc<Env>),
    Thunk(Thunk),
    Closure(Rc<Closure>),
    Attrs(Attrs),
    List(List),
    App(Rc<PrimOpApp>),
    /// What the thunks of a builtin's mapping share.
    Mapped(Rc<crate::value::Mapped>),
}

impl Node {
    fn strong_count(&self) -> usize {
        match self {
            Node::Env(rc) => Rc::strong_count(rc),
            Node::Thunk(thunk) => Rc::strong_count(&thunk.0),
            Node::Closure(rc) => Rc::strong_count(rc),
            Node::Attrs(attrs) => attrs.strong_count(),
            Node::List(list) => list.strong_count(),
            Node::App(rc) => Rc::strong_count(rc),
            Node::Mapped(rc) => Rc::strong_count(rc),
        }
    }
}

/// The walk's state: every object seen, by address, with its count of inside references and
/// the objects it references (`edges[offsets[i]..offsets[i + 1]]`).
struct Walk {
    nodes: Vec<Node>,
    inside: Vec<u32>,
    index: HashMap<usize, u32, BuildFxHasher>,
    edges: Vec<u32>,
    offsets: Vec<u32>,
}

impl Walk {
    /// Records `node`, reached from a seed (`counted` false) or from an object of the walk.
    fn reach(&mut self, key: usize, make: impl FnOnce() -> Node, counted: bool) {
        let i = match self.index.get(&key) {
            Some(&i) => i,
            None => {
                let i = self.nodes.len() as u32;
                self.nodes.push(make());
                self.inside.push(0);
                self.index.insert(key, i);
                i
            }
        };
        if counted {
            self.inside[i as usize] += 1;
            self.edges.push(i);
        }
    }

    fn reach_env(&mut self, env: &Rc<Env>) {
        self.reach(Rc::as_ptr(env) as usize, || Node::Env(env.clone()), true);
    }

    fn reach_value(&mut self, value: &Value) {
        match value {
            Value::Thunk(thunk) => self.reach(
                Rc::as_ptr(&thunk.0) as usize,
                || Node::Thunk(thunk.clone()),
                true,
            ),
            Value::Lambda(closure) => self.reach(
                Rc::as_ptr(closure) as usize,
                || Node::Closure(closure.clone()),
                true,
            ),
            Value::Attrs(attrs) => {
                self.reach(attrs.ptr() as usize, || Node::Attrs(attrs.clone()), true)
            }
            Value::List(list) => self.reach(list.ptr() as usize, || Node::List(list.clone()), true),
            Value::PrimOpApp(app) => {
                self.reach(Rc::as_ptr(app) as usize, || Node::App(app.clone()), true)
            }
            Value::Null
            | Value::Bool(_)
            | Value::Int(_)
            | Value::Float(_)
            | Value::String(_)
            | Value::Path(_)
            | Value::PrimOp(_) => {}
        }
    }

    /// Reaches every object `nodes[i]` references.
    fn visit(&mut self, i: usize) {
        // A clone, so that the walk can grow while we read the node; it is dropped before any
        // count is read.
        let node = self.nodes[i].clone();
        match &node {
            Node::Env(env) => {
                if let Some(parent) = &env.parent {
                    self.reach_env(parent);
                }
                match &env.slots {
                    Slots::One(slot) => {
                        if let Some(value) = slot.get() {
                            self.reach_value(value);
                        }
                    }
                    Slots::Many(slots) => {
                        for value in slots.iter().filter_map(|s| s.get()) {
                            self.reach_value(value);
                        }
                    }
                }
            }
            // A thunk being forced holds a black hole (its state is on the stack), so the borrow
            // cannot fail; if it did, its children would only look referenced from outside.
            Node::Thunk(thunk) => match thunk.0.try_borrow().as_deref() {
                Ok(ThunkState::Suspended { env, .. }) => self.reach_env(env),
                Ok(ThunkState::Apply(app)) => {
                    self.reach_value(&app.0);
                    self.reach_value(&app.1);
                }
                Ok(ThunkState::Done(value)) => self.reach_value(value),
                Ok(ThunkState::Mapped { mapped, .. }) => self.reach(
                    Rc::as_ptr(mapped) as usize,
                    || Node::Mapped(mapped.clone()),
                    true,
                ),
                // What a native thunk captured is opaque: to the walk it is held from outside.
                Ok(ThunkState::Native(_) | ThunkState::Blackhole) | Err(_) => {}
            },
            Node::Closure(closure) => self.reach_env(&closure.env),
            Node::Attrs(attrs) => attrs.for_each_value(&mut |v| self.reach_value(v)),
            Node::List(list) => {
                for value in list.iter() {
                    self.reach_value(value);
                }
            }
            Node::App(app) => {
                for value in &app.args {
                    self.reach_value(value);
                }
            }
            Node::Mapped(mapped) => match &**mapped {
                crate::value::Mapped::Indices(func) => self.reach_value(func),
                crate::value::Mapped::List(func, list) => {
                    self.reach_value(func);
                    self.reach_value(&Value::List(list.clone()));
                }
                crate::value::Mapped::Attrs(func, attrs) => {
                    self.reach_value(func);
                    self.reach_value(&Value::Attrs(attrs.clone()));
                }
            },
        }
        self.offsets.push(self.edges.len() as u32);
    }
}

/// Runs a collection over everything the registered seeds reach (see the module comment).
pub(crate) fn collect() -> CollectStats {
    let mut walk = Walk {
        nodes: Vec::new(),
        inside: Vec::new(),
        index: HashMap::default(),
        edges: Vec::new(),
        offsets: vec![0],
    };
    REGISTRY.with(|registry| {
        let mut registry = registry.borrow_mut();
        registry.envs.retain(|env| env.strong_count() > 0);
        registry.thunks.retain(|thunk| thunk.strong_count() > 0);
        registry.prune_at = (registry.envs.len() * 2).max(1024);
        for env in registry.envs.iter().filter_map(Weak::upgrade) {
            walk.reach(Rc::as_ptr(&env) as usize, || Node::Env(env.clone()), false);
        }
        for thunk in registry.thunks.iter().filter_map(Weak::upgrade) {
            let thunk = Thunk(thunk);
            walk.reach(
                Rc::as_ptr(&thunk.0) as usize,
                || Node::Thunk(thunk.clone()),
                false,
            );
        }
    });
    let mut i = 0;
    while i < walk.nodes.len() {
        walk.visit(i);
        i += 1;
    }

    // The walk holds one reference to each object; any reference beyond that and the inside ones
    // comes from outside, and everything reachable from there is live.
    let n = walk.nodes.len();
    let mut live = vec![false; n];
    let mut stack: Vec<u32> = (0..n)
        .filter(|&i| walk.nodes[i].strong_count() > 1 + walk.inside[i] as usize)
        .map(|i| i as u32)
        .collect();
    for &i in &stack {
        live[i as usize] = true;
    }
    while let Some(i) = stack.pop() {
        let i = i as usize;
        let (from, to) = (walk.offsets[i] as usize, walk.offsets[i + 1] as usize);
        for &j in &walk.edges[from..to] {
            if !live[j as usize] {
                live[j as usize] = true;
                stack.push(j);
            }
        }
    }

    // Break every garbage cycle at its thunks; dropping the walk then frees the garbage.
    let mut garbage = 0;
    let mut states: Vec<ThunkState> = Vec::new();
    for (node, is_live) in walk.nodes.iter().zip(&live) {
        if *is_live {
            continue;
        }
        garbage += 1;
        if let Node::Thunk(thunk) = node {
            if let Ok(mut state) = thunk.0.try_borrow_mut() {
                states.push(std::mem::replace(&mut *state, ThunkState::Blackhole));
            }
        }
    }
    // Dropping a state can reach other thunks of the walk, so it happens after every borrow
    // above has ended; the walk's own references go last.
    drop(states);
    drop(walk);
    CollectStats {
        visited: n,
        garbage,
    }
}

#[cfg(test)]
mod tests {
    use crate::{EvalOptions, Evaluator, FsLoader, Value};
    use std::rc::Rc;

    fn eval(ev: &mut Evaluator, source: &str) -> Value {
        let file = ev
            .sources_mut()
            .add_virtual("«string»", std::path::Path::new("/"), source);
        ev.eval_source(file).unwrap()
    }

    /// The environment a lambda value closes over, weakly.
    fn env_of(value: &Value) -> std::rc::Weak<crate::eval::Env> {
        match value {
            Value::Lambda(closure) => Rc::downgrade(&closure.env),
            other => panic!("not a lambda: {other:?}"),
        }
    }

    #[test]
    fn unreachable_cycles_are_freed_and_reachable_ones_kept() {
        let mut ev = Evaluator::new(
            EvalOptions {
                trace_to_stderr: false,
                ..EvalOptions::default()
            },
            Box::new(FsLoader),
        );
        let held = eval(&mut ev, "let f = n: if n == 0 then 0 else f (n - 1); in f");
        let dropped = eval(&mut ev, "let g = n: g n; unused = g 1; in g");
        let (held_env, dropped_env) = (env_of(&held), env_of(&dropped));
        drop(dropped);
        // `let` environment -> thunk of `g` -> closure -> environment: `Rc` alone keeps it.
        assert!(dropped_env.upgrade().is_some());
        let stats = ev.collect_cycles();
        assert!(stats.garbage >= 3, "{stats:?}");
        assert!(dropped_env.upgrade().is_none());
        assert!(held_env.upgrade().is_some());
        // What is still held works as before.
        let result = ev.call(&held, Value::Int(5)).unwrap();
        assert!(matches!(result, Value::Int(0)));
        // Nothing is garbage the second time.
        let again = ev.collect_cycles();
        assert_eq!(again.garbage, 0, "{again:?}");
        drop(held);
        ev.collect_cycles();
        assert!(held_env.upgrade().is_none());
    }
}
