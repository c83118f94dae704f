//! The evaluator: a recursive interpreter over the IR with call-by-need thunks.
//!
//! Semantics follow Nix 2.8's `eval.cc`. `eval` returns values in weak head normal form (never
//! a `Thunk`); `delay` turns an expression into a value *without* evaluating it, allocating a
//! thunk only when the expression is neither a constant nor a variable (Nix's `maybeThunk`).
//! A thunk being forced is replaced by a black hole, so forcing it again reports infinite
//! recursion; if its evaluation fails, it is restored and may be forced again (as in Nix, which
//! matters for `tryEval`).
//!
//! Recursion depth is bounded twice: `stacker` grows the Rust stack on the heap when it runs
//! low, and `MAX_DEPTH` turns runaway recursion into a `stack_overflow` diagnostic.

mod operators;

use crate::call::suggest;
use crate::compile::{self, Globals};
use crate::error::{Catchable, ErrorKind, EvalError, EvalResult};
use crate::ir::{self, AttrKey, ExprKind};
use crate::loader::Loader;
use crate::symbol::Symbol;
use crate::value::{AttrEntry, Attrs, Closure, List, Thunk, ThunkState, Value};
use crate::EvalOptions;
use kiln_syntax::{FileId, SourceMap, Span};
use std::cell::OnceCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// How often (in evaluation steps; a power of two) `enter` polls the interrupt flag.
const INTERRUPT_POLL_STEPS: u64 = 1024;

/// How deep evaluation may nest before it is reported as a stack overflow.
const MAX_DEPTH: usize = 120_000;

/// An environment: the values bound by one `let`, `rec` set, lambda call or `with`.
///
/// A slot is written once: at creation, or (for `let`, `rec` and formals, whose values may
/// refer to the environment itself) right after it.
pub(crate) struct Env {
    pub(crate) slots: Slots,
    pub(crate) parent: Option<Rc<Env>>,
}

/// Most environments (plain lambdas, `with`) have one slot; keep it inline.
pub(crate) enum Slots {
    One(OnceCell<Value>),
    Many(Box<[OnceCell<Value>]>),
}

impl Env {
    pub(crate) fn new(slots: Vec<Value>, parent: Option<Rc<Env>>) -> Rc<Env> {
        Rc::new(Env {
            slots: Slots::Many(slots.into_iter().map(OnceCell::from).collect()),
            parent,
        })
    }

    pub(crate) fn one(value: Value, parent: &Rc<Env>) -> Rc<Env> {
        // `new_cyclic`: built in place, see `Thunk::apply`.
        Rc::new_cyclic(|_| Env {
            slots: Slots::One(OnceCell::from(value)),
            parent: Some(parent.clone()),
        })
    }

    pub(crate) fn empty_slots(n: usize, parent: &Rc<Env>) -> Rc<Env> {
        let slots = Slots::Many((0..n).map(|_| OnceCell::new()).collect());
        Rc::new(Env {
            slots,
            parent: Some(parent.clone()),
        })
    }

    pub(crate) fn up(self: &Rc<Env>, depth: u32) -> &Rc<Env> {
        let mut env = self;
        for _ in 0..depth {
            match &env.parent {
                Some(parent) => env = parent,
                None => break,
            }
        }
        env
    }

    pub(crate) fn get(&self, index: u32) -> Option<&Value> {
        match &self.slots {
            Slots::One(slot) if index == 0 => slot.get(),
            Slots::One(_) => None,
            Slots::Many(slots) => slots.get(index as usize).and_then(OnceCell::get),
        }
    }

    pub(crate) fn set(&self, index: usize, value: Value) {
        let slot = match &self.slots {
            Slots::One(slot) if index == 0 => Some(slot),
            Slots::One(_) => None,
            Slots::Many(slots) => slots.get(index),
        };
        if let Some(slot) = slot {
            let _ = slot.set(value);
        }
    }
}

/// The reference to a `let` or `with` environment held while its body is evaluated; letting
/// go of a `let`'s frees it at once if only its own slots still refer to it (see
/// `gc::release_env`).
struct OwnedEnv {
    env: Rc<Env>,
    recursive: bool,
}

impl Drop for OwnedEnv {
    fn drop(&mut self) {
        if self.recursive {
            crate::gc::release_env(&self.env);
        }
    }
}

/// Names the evaluator looks up itself.
pub(crate) struct Syms {
    pub(crate) out_path: Symbol,
    pub(crate) to_string: Symbol,
    pub(crate) type_: Symbol,
    pub(crate) functor: Symbol,
    pub(crate) column: Symbol,
    pub(crate) file: Symbol,
    pub(crate) line: Symbol,
}

/// A lazy evaluator for one run: it owns the sources, the import cache and the base
/// environment.
pub struct Evaluator {
    pub(crate) sources: SourceMap,
    pub(crate) loader: Box<dyn Loader>,
    pub(crate) options: EvalOptions,
    pub(crate) globals: Rc<Globals>,
    pub(crate) import_cache: HashMap<String, Value>,
    pub(crate) syms: Syms,
    depth: usize,
    /// Evaluation steps so far, for `EvalOptions::max_steps`.
    steps: u64,
    /// At this step `enter` takes its slow path: the next poll of the interrupt flag, or
    /// `max_steps` if that comes first (one comparison on the fast path instead of two).
    slow_at: u64,
    /// Below this stack address `enter` asks `stacker` for more stack (see `enter`).
    stack_low: usize,
    root_env: Rc<Env>,
    /// Set from outside (a SIGINT handler) to stop the evaluation; `enter` polls it.
    interrupt: Option<Arc<AtomicBool>>,
    /// The build driver's store, for `derivation` (see `host.rs`).
    pub(crate) host: Option<Rc<dyn crate::StoreHost>>,
    /// `derivation`, compiled on first use.
    pub(crate) derivation_fn: Option<Value>,
    /// Recursive environments made since the last automatic collection
    /// (`EvalOptions::collect_cycles_every`).
    recursive_envs: u64,
    /// The `file` of positions (`unsafeGetAttrPos`), one string per source file.
    pos_files: HashMap<FileId, crate::NixString>,
}

impl Evaluator {
    pub fn new(options: EvalOptions, loader: Box<dyn Loader>) -> Evaluator {
        let syms = Syms {
            out_path: Symbol::intern("outPath"),
            to_string: Symbol::intern("__toString"),
            type_: Symbol::intern("type"),
            functor: Symbol::intern("__functor"),
            column: Symbol::intern("column"),
            file: Symbol::intern("file"),
            line: Symbol::intern("line"),
        };
        let options_max_steps = options.max_steps;
        let mut ev = Evaluator {
            sources: SourceMap::new(),
            loader,
            options,
            globals: Rc::new(Globals::new()),
            import_cache: HashMap::new(),
            syms,
            depth: 0,
            steps: 0,
            slow_at: INTERRUPT_POLL_STEPS.min(options_max_steps),
            stack_low: usize::MAX,
            root_env: Env::new(Vec::new(), None),
            interrupt: None,
            host: None,
            derivation_fn: None,
            recursive_envs: 0,
            pos_files: HashMap::new(),
        };
        ev.globals = Rc::new(crate::globals::build(&mut ev));
        ev
    }

    pub fn sources(&self) -> &SourceMap {
        &self.sources
    }

    pub fn sources_mut(&mut self) -> &mut SourceMap {
        &mut self.sources
    }

    pub fn loader(&self) -> &dyn Loader {
        &*self.loader
    }

    pub fn options(&self) -> &EvalOptions {
        &self.options
    }

    /// Makes evaluation poll `flag`: once it is true, the running evaluation fails with
    /// [`ErrorKind::Interrupted`] (which `tryEval` does not catch). The flag is not reset; the
    /// embedder clears it before the next evaluation.
    ///
    /// Design decision: a flag polled every `INTERRUPT_POLL_STEPS` evaluation steps (and in
    /// builtins that loop without evaluating, such as `genList`) rather than a callback, so
    /// the check costs next to nothing and the evaluator stays single-threaded.
    pub fn set_interrupt(&mut self, flag: Arc<AtomicBool>) {
        self.interrupt = Some(flag);
    }

    /// Fails with [`ErrorKind::Interrupted`] when the interrupt flag is set.
    pub(crate) fn check_interrupt(&self) -> EvalResult<()> {
        match &self.interrupt {
            Some(flag) if flag.load(Ordering::Relaxed) => {
                Err(EvalError::new(ErrorKind::Interrupted))
            }
            _ => Ok(()),
        }
    }

    /// Parses and evaluates a source already in the source map, to weak head normal form.
    pub fn eval_source(&mut self, file: FileId) -> EvalResult<Value> {
        let ast = crate::parse_shim::parse(&self.sources, file)?;
        self.eval_ast(&ast)
    }

    /// Evaluates an already parsed expression, to weak head normal form.
    pub fn eval_ast(&mut self, ast: &kiln_syntax::ast::Expr) -> EvalResult<Value> {
        self.eval_scoped(ast, &Attrs::empty())
    }

    /// Evaluates `ast` with the names of `scope` bound (shadowing the base environment), as
    /// `scopedImport` does.
    pub fn eval_scoped(
        &mut self,
        ast: &kiln_syntax::ast::Expr,
        scope: &Attrs,
    ) -> EvalResult<Value> {
        let names: Vec<Symbol> = scope.iter().map(|e| e.name).collect();
        let code = compile::compile(ast, &self.globals, &self.sources, &names)?;
        let values = scope.iter().map(|e| e.value.clone()).collect();
        let env = Env::new(values, Some(self.root_env.clone()));
        self.eval(&code, &env)
    }

    // ----- forcing -----

    /// Frees the reference cycles that nothing outside them reaches any more: the environments
    /// of `let`s and recursive sets, with their closures and unevaluated thunks, of evaluations
    /// whose values have been dropped (see `gc.rs`). Values still held stay intact. A REPL calls
    /// this after replacing an evaluation; it is not needed for correctness.
    pub fn collect_cycles(&mut self) -> crate::gc::CollectStats {
        crate::gc::collect()
    }

    /// The position `{ column; file; line; }` of `span`, as `compile::pos_value` gives it, with
    /// the file's name shared by all positions in the file.
    pub(crate) fn pos_value(&mut self, span: Span) -> Value {
        let (line, column) = self.sources.line_col(span.file, span.start);
        let sources = &self.sources;
        let file = self
            .pos_files
            .entry(span.file)
            .or_insert_with(|| crate::NixString::new(sources.get(span.file).name.clone()))
            .clone();
        Value::Attrs(Attrs::from_sorted(vec![
            AttrEntry {
                name: self.syms.column,
                value: Value::Int(column.into()),
                pos: None,
            },
            AttrEntry {
                name: self.syms.file,
                value: Value::String(file),
                pos: None,
            },
            AttrEntry {
                name: self.syms.line,
                value: Value::Int(line.into()),
                pos: None,
            },
        ]))
    }

    /// Registers a recursive environment with the cycle collector, and collects when
    /// `EvalOptions::collect_cycles_every` says so.
    pub(crate) fn register_env(&mut self, env: &Rc<Env>) {
        crate::gc::register_env(env);
        if let Some(every) = self.options.collect_cycles_every {
            self.recursive_envs += 1;
            if self.recursive_envs >= every {
                self.recursive_envs = 0;
                crate::gc::collect();
            }
        }
    }

    /// Evaluates `value` to weak head normal form.
    pub fn force(&mut self, value: &Value) -> EvalResult<Value> {
        match value {
            Value::Thunk(thunk) => self.force_thunk(thunk),
            other => Ok(other.clone()),
        }
    }

    pub(crate) fn force_thunk(&mut self, thunk: &Thunk) -> EvalResult<Value> {
        if let ThunkState::Done(v) = &*thunk.0.borrow() {
            return Ok(v.clone());
        }
        let state = std::mem::replace(&mut *thunk.0.borrow_mut(), ThunkState::Blackhole);
        let result = match &state {
            ThunkState::Suspended { code, env } => self.eval(code, env),
            ThunkState::Apply(app) => self.call(&app.0, app.1.clone()),
            ThunkState::Mapped { mapped, index } => self.force_mapped(mapped, *index),
            ThunkState::Native(code) => self.enter(|ev| code(ev)),
            ThunkState::Blackhole => {
                return Err(EvalError::new(ErrorKind::InfiniteRecursion));
            }
            ThunkState::Done(v) => Ok(v.clone()),
        };
        match result {
            Ok(v) => {
                // The state is the black hole put there above (forcing this thunk again while it
                // ran failed without writing it), which owns nothing: overwrite it without a
                // drop. An assignment calls the drop glue of the old state first and keeps the
                // new one on the stack across that call; copying it from there afterwards
                // stalled on store forwarding, a fifth of the samples of `force_thunk`.
                let old =
                    std::mem::replace(&mut *thunk.0.borrow_mut(), ThunkState::Done(v.clone()));
                debug_assert!(matches!(old, ThunkState::Blackhole));
                std::mem::forget(old);
                Ok(v)
            }
            Err(e) => {
                *thunk.0.borrow_mut() = state;
                Err(e)
            }
        }
    }

    /// Element `index` of a builtin's mapping (`ThunkState::Mapped`).
    fn force_mapped(&mut self, mapped: &crate::value::Mapped, index: usize) -> EvalResult<Value> {
        use crate::value::Mapped;
        match mapped {
            Mapped::Indices(func) => self.call(func, Value::Int(index as i64)),
            Mapped::List(func, list) => match list.get(index) {
                Some(item) => self.call(func, item.clone()),
                None => Err(EvalError::bug("a mapped list element out of range")),
            },
            Mapped::Attrs(func, attrs) => match attrs.entries().get(index) {
                Some(entry) => {
                    let (name, value) = (Value::string(entry.name.as_str()), entry.value.clone());
                    self.call2(func, name, value)
                }
                None => Err(EvalError::bug("a mapped attribute out of range")),
            },
        }
    }

    /// Runs `f` one level deeper, growing the stack if needed.
    ///
    /// The fast path compares the stack pointer with a cached limit; only when the stack runs
    /// low (or on the first call) does it ask `stacker`, which may switch to a new segment.
    /// Every `INTERRUPT_POLL_STEPS` steps it takes the slow path, which polls the interrupt flag.
    #[inline(always)]
    pub(crate) fn enter<T>(
        &mut self,
        f: impl FnOnce(&mut Evaluator) -> EvalResult<T>,
    ) -> EvalResult<T> {
        let marker = 0u8;
        let sp = std::ptr::addr_of!(marker) as usize;
        self.steps += 1;
        if sp > self.stack_low && self.depth < MAX_DEPTH && self.steps < self.slow_at {
            self.depth += 1;
            let result = f(self);
            self.depth -= 1;
            return result;
        }
        self.enter_slow(f)
    }

    #[inline(never)]
    fn enter_slow<T>(&mut self, f: impl FnOnce(&mut Evaluator) -> EvalResult<T>) -> EvalResult<T> {
        const RED_ZONE: usize = 256 * 1024;
        if self.depth >= MAX_DEPTH {
            return Err(EvalError::new(ErrorKind::StackOverflow));
        }
        self.check_interrupt()?;
        if self.steps >= self.options.max_steps {
            return Err(EvalError::new(ErrorKind::StepLimit));
        }
        if self.steps >= self.slow_at {
            self.slow_at = (self.steps + INTERRUPT_POLL_STEPS).min(self.options.max_steps);
        }
        let saved = self.stack_low;
        let result = stacker::maybe_grow(RED_ZONE, 8 * 1024 * 1024, || {
            let marker = 0u8;
            let sp = std::ptr::addr_of!(marker) as usize;
            // On the (possibly new) stack: the lowest address we may use before asking again.
            let remaining = stacker::remaining_stack().unwrap_or(0);
            self.stack_low = sp.saturating_sub(remaining).saturating_add(RED_ZONE / 2);
            self.depth += 1;
            let result = f(self);
            self.depth -= 1;
            result
        });
        self.stack_low = saved;
        result
    }

    pub fn force_int(&mut self, value: &Value) -> EvalResult<i64> {
        match self.force(value)? {
            Value::Int(n) => Ok(n),
            other => Err(EvalError::type_error("an integer", &other)),
        }
    }

    pub fn force_bool(&mut self, value: &Value) -> EvalResult<bool> {
        match self.force(value)? {
            Value::Bool(b) => Ok(b),
            other => Err(EvalError::type_error("a Boolean", &other)),
        }
    }

    /// An integer or a float, as a float.
    pub fn force_float(&mut self, value: &Value) -> EvalResult<f64> {
        match self.force(value)? {
            Value::Int(n) => Ok(n as f64),
            Value::Float(x) => Ok(x),
            other => Err(EvalError::type_error("a float", &other)),
        }
    }

    /// A string (no coercion).
    pub fn force_string(&mut self, value: &Value) -> EvalResult<crate::NixString> {
        match self.force(value)? {
            Value::String(s) => Ok(s),
            other => Err(EvalError::type_error("a string", &other)),
        }
    }

    pub fn force_attrs(&mut self, value: &Value) -> EvalResult<Attrs> {
        match self.force(value)? {
            Value::Attrs(a) => Ok(a),
            other => Err(EvalError::type_error("a set", &other)),
        }
    }

    pub fn force_list(&mut self, value: &Value) -> EvalResult<List> {
        match self.force(value)? {
            Value::List(l) => Ok(l),
            other => Err(EvalError::type_error("a list", &other)),
        }
    }

    /// A function (lambda, builtin, or set with `__functor`), forced.
    pub fn force_function(&mut self, value: &Value) -> EvalResult<Value> {
        let v = self.force(value)?;
        match &v {
            Value::Lambda(_) | Value::PrimOp(_) | Value::PrimOpApp(_) => Ok(v),
            Value::Attrs(a) if a.get(self.syms.functor).is_some() => Ok(v),
            other => Err(EvalError::type_error("a function", other)),
        }
    }

    /// Forces `value` and everything inside it (`deepSeq`, `--strict`).
    pub fn force_deep(&mut self, value: &Value) -> EvalResult<Value> {
        let mut seen = std::collections::HashSet::new();
        let v = self.force(value)?;
        self.force_deep_inner(&v, &mut seen)?;
        Ok(v)
    }

    fn force_deep_inner(
        &mut self,
        value: &Value,
        seen: &mut std::collections::HashSet<*const ()>,
    ) -> EvalResult<()> {
        match value {
            Value::Attrs(attrs) => {
                if !seen.insert(attrs.ptr()) {
                    return Ok(());
                }
                for entry in attrs.iter() {
                    let v = self.force(&entry.value).map_err(|e| {
                        e.frame(entry.pos, || {
                            format!("while evaluating the attribute `{}`", entry.name)
                        })
                    })?;
                    self.enter(|ev| ev.force_deep_inner(&v, seen))
                        .map_err(|e| {
                            e.frame(entry.pos, || {
                                format!("while evaluating the attribute `{}`", entry.name)
                            })
                        })?;
                }
            }
            Value::List(list) => {
                if !seen.insert(list.ptr()) {
                    return Ok(());
                }
                for item in list.iter() {
                    let v = self.force(item)?;
                    self.enter(|ev| ev.force_deep_inner(&v, seen))?;
                }
            }
            _ => {}
        }
        Ok(())
    }

    // ----- evaluation -----

    /// Turns `expr` into a value without evaluating it.
    pub(crate) fn delay(&self, expr: &Rc<ir::Expr>, env: &Rc<Env>) -> Value {
        match &expr.kind {
            ExprKind::Const(v) => v.clone(),
            ExprKind::Local { depth, index, .. } => match env.up(*depth).get(*index) {
                Some(v) => v.clone(),
                None => Thunk::suspended(expr.clone(), env.clone()),
            },
            _ => Thunk::suspended(expr.clone(), env.clone()),
        }
    }

    pub(crate) fn eval(&mut self, expr: &Rc<ir::Expr>, env: &Rc<Env>) -> EvalResult<Value> {
        self.enter(|ev| ev.eval_inner(expr, env))
    }

    /// `eval` with the two most common cases, constants and evaluated variables, done
    /// inline without a recursive call.
    #[inline(always)]
    pub(crate) fn eval_operand(&mut self, expr: &Rc<ir::Expr>, env: &Rc<Env>) -> EvalResult<Value> {
        match &expr.kind {
            ExprKind::Arith { op, lhs, rhs } => self.eval_arith(*op, lhs, rhs, env, expr.span),
            _ => self.eval_leaf(expr, env),
        }
    }

    /// Constants and variables directly; anything else through `eval`.
    #[inline(always)]
    pub(crate) fn eval_leaf(&mut self, expr: &Rc<ir::Expr>, env: &Rc<Env>) -> EvalResult<Value> {
        match &expr.kind {
            ExprKind::Const(v) => Ok(v.clone()),
            ExprKind::Local { depth, index, .. } => match env.up(*depth).get(*index) {
                Some(Value::Thunk(t)) => {
                    if let ThunkState::Done(v) = &*t.0.borrow() {
                        return Ok(v.clone());
                    }
                    let t = t.clone();
                    self.force_thunk(&t).map_err(|e| e.at(expr.span))
                }
                Some(v) => Ok(v.clone()),
                None => self.eval(expr, env),
            },
            _ => self.eval(expr, env),
        }
    }

    /// Evaluates `expr`, following tail positions (`if` branches, `let`, `with` and `assert`
    /// bodies) in a loop rather than by recursion: fewer stack frames and depth checks.
    fn eval_inner(&mut self, expr: &Rc<ir::Expr>, env: &Rc<Env>) -> EvalResult<Value> {
        let mut expr = expr;
        let mut env = env;
        // Owns the environment of the `let` or `with` being followed; `env` points into it.
        let mut owned: Option<OwnedEnv>;
        loop {
            match &expr.kind {
                ExprKind::If { cond, then, else_ } => match self.eval_operand(cond, env)? {
                    Value::Bool(true) => expr = then,
                    Value::Bool(false) => expr = else_,
                    other => return Err(EvalError::type_error("a Boolean", &other).at(cond.span)),
                },
                ExprKind::Assert { cond, body } => match self.eval_operand(cond, env)? {
                    Value::Bool(true) => expr = body,
                    Value::Bool(false) => {
                        let condition = crate::assertion_condition(&self.sources, cond.span);
                        return Err(EvalError::new(ErrorKind::Catchable(
                            Catchable::AssertionFailed { condition },
                        ))
                        .at(expr.span));
                    }
                    other => return Err(EvalError::type_error("a Boolean", &other).at(cond.span)),
                },
                ExprKind::Let {
                    bindings,
                    fill_order,
                    body,
                } => {
                    let inner = Env::empty_slots(bindings.len(), env);
                    for &i in fill_order.iter() {
                        let i = i as usize;
                        let Some((binding, inherited)) = bindings.get(i) else {
                            continue;
                        };
                        let value = if *inherited {
                            self.delay(binding, env)
                        } else {
                            self.delay_rec(binding, &inner)
                        };
                        inner.set(i, value);
                    }
                    self.register_env(&inner);
                    owned = Some(OwnedEnv {
                        env: inner,
                        recursive: true,
                    });
                    let Some(inner) = &owned else { unreachable!() };
                    env = &inner.env;
                    expr = body;
                }
                ExprKind::With { env: scope, body } => {
                    let scope = self.delay(scope, env);
                    owned = Some(OwnedEnv {
                        env: Env::one(scope, env),
                        recursive: false,
                    });
                    let Some(inner) = &owned else { unreachable!() };
                    env = &inner.env;
                    expr = body;
                }
                _ => return self.eval_node(expr, env),
            }
        }
    }

    fn eval_node(&mut self, expr: &Rc<ir::Expr>, env: &Rc<Env>) -> EvalResult<Value> {
        let span = expr.span;
        match &expr.kind {
            ExprKind::Const(v) => Ok(v.clone()),
            ExprKind::Local { depth, index, name } => {
                let slot = env.up(*depth).get(*index);
                match slot {
                    Some(Value::Thunk(t)) => {
                        let t = t.clone();
                        self.force_thunk(&t).map_err(|e| e.at(span))
                    }
                    Some(v) => Ok(v.clone()),
                    None => Err(EvalError::bug(format!(
                        "variable `{name}` read before it was bound"
                    ))
                    .at(span)),
                }
            }
            ExprKind::WithVar { name, with_depths } => {
                self.lookup_with(*name, with_depths, env, span)
            }
            ExprKind::Select {
                expr: target,
                path,
                default,
            } => self.eval_select(target, path, default.as_ref(), env, span),
            ExprKind::HasAttr { expr: target, path } => {
                // Like Nix, only the sets along the path are forced, not the final value.
                let mut current = self.eval_leaf(target, env)?;
                for (i, key) in path.iter().enumerate() {
                    if i > 0 {
                        current = self.force(&current).map_err(|e| e.at(span))?;
                    }
                    let name = match self.attr_key(key, env)? {
                        Some(name) => name,
                        None => return Ok(Value::Bool(false)),
                    };
                    match current {
                        Value::Attrs(attrs) => match attrs.get(name) {
                            Some(v) => current = v.clone(),
                            None => return Ok(Value::Bool(false)),
                        },
                        _ => return Ok(Value::Bool(false)),
                    }
                }
                Ok(Value::Bool(true))
            }
            ExprKind::Attrs(def) => self.eval_attrs(def, env, span),
            ExprKind::List(items) => Ok(Value::List(match &**items {
                [] => List::small(0, [Value::Null, Value::Null]),
                [a] => List::small(1, [self.delay(a, env), Value::Null]),
                [a, b] => List::small(2, [self.delay(a, env), self.delay(b, env)]),
                _ => List::new(items.iter().map(|item| self.delay(item, env)).collect()),
            })),
            ExprKind::Lambda(lambda) => Ok(Value::Lambda(Rc::new(Closure {
                lambda: lambda.clone(),
                env: env.clone(),
            }))),
            ExprKind::Call { func, args } => {
                let f = self.eval_operand(func, env)?;
                self.eval_call(f, args, env, span)
            }
            ExprKind::Arith { op, lhs, rhs } => self.eval_arith(*op, lhs, rhs, env, span),
            ExprKind::Let { .. }
            | ExprKind::With { .. }
            | ExprKind::If { .. }
            | ExprKind::Assert { .. } => self.eval_inner(expr, env),
            ExprKind::Not(e) => match self.eval_leaf(e, env)? {
                Value::Bool(b) => Ok(Value::Bool(!b)),
                other => Err(EvalError::type_error("a Boolean", &other).at(e.span)),
            },
            ExprKind::Binary { op, lhs, rhs } => self.eval_binary(*op, lhs, rhs, env, span),
            ExprKind::ConcatStrings {
                force_string,
                parts,
            } => self.eval_concat(*force_string, parts, env, span),
        }
    }

    /// `delay` for a binding of a `let`, `rec` set or set pattern whose environment is still
    /// being filled: a variable of a slot filled already shares its value (as Nix does), one
    /// of a slot not filled yet gets a thunk.
    pub(crate) fn delay_rec(&self, expr: &Rc<ir::Expr>, env: &Rc<Env>) -> Value {
        // `delay` already gives a thunk for a variable whose slot is not filled yet.
        self.delay(expr, env)
    }

    fn lookup_with(
        &mut self,
        name: Symbol,
        with_depths: &[u32],
        env: &Rc<Env>,
        span: Span,
    ) -> EvalResult<Value> {
        for depth in with_depths {
            let scope_env = env.up(*depth);
            let Some(scope) = scope_env.get(0).cloned() else {
                continue;
            };
            let attrs = self.force_attrs(&scope).map_err(|e| e.at(span))?;
            if let Some(v) = attrs.get(name) {
                return self.force(v).map_err(|e| e.at(span));
            }
        }
        Err(EvalError::new(ErrorKind::UndefinedVar {
            name: name.to_string(),
        })
        .at(span))
    }

    /// The name an attribute key evaluates to; `None` for a dynamic `null` key.
    fn attr_key(&mut self, key: &AttrKey, env: &Rc<Env>) -> EvalResult<Option<Symbol>> {
        match key {
            AttrKey::Static(name) => Ok(Some(*name)),
            AttrKey::Dynamic(expr) => match self.eval_leaf(expr, env)? {
                Value::Null => Ok(None),
                Value::String(s) => {
                    crate::builtins::context::no_context(&s).map_err(|e| e.at(expr.span))?;
                    Ok(Some(Symbol::intern(s.as_str())))
                }
                other => Err(EvalError::type_error("a string", &other).at(expr.span)),
            },
        }
    }

    fn eval_select(
        &mut self,
        target: &Rc<ir::Expr>,
        path: &[AttrKey],
        default: Option<&Rc<ir::Expr>>,
        env: &Rc<Env>,
        span: Span,
    ) -> EvalResult<Value> {
        let mut current = self.eval_leaf(target, env)?;
        for key in path {
            let name = self.attr_key(key, env)?;
            let found = match (&current, name) {
                (Value::Attrs(attrs), Some(name)) => attrs.get(name).cloned(),
                (Value::Attrs(_), None) => None,
                (other, _) if default.is_none() => {
                    return Err(EvalError::type_error("a set", other).at(span));
                }
                _ => None,
            };
            match found {
                Some(v) => {
                    current = self.force(&v).map_err(|e| {
                        e.at(span).frame(Some(span), || {
                            format!(
                                "while evaluating the attribute `{}`",
                                name.map_or("", |n| n.as_str())
                            )
                        })
                    })?;
                }
                None => {
                    if let Some(default) = default {
                        return self.eval_leaf(default, env);
                    }
                    let name = name.map_or_else(String::new, |n| n.to_string());
                    let suggestions = match &current {
                        Value::Attrs(attrs) => {
                            suggest(&name, attrs.iter().map(|e| e.name.as_str()))
                        }
                        _ => Vec::new(),
                    };
                    return Err(
                        EvalError::new(ErrorKind::MissingAttr { name, suggestions }).at(span)
                    );
                }
            }
        }
        Ok(current)
    }

    fn eval_attrs(&mut self, def: &ir::AttrsDef, env: &Rc<Env>, span: Span) -> EvalResult<Value> {
        let (mut entries, value_env) = if def.rec && crate::overrides::has_overrides(def) {
            self.rec_with_overrides(def, env)?
        } else if def.rec {
            let inner = Env::empty_slots(def.attrs.len(), env);
            for &i in def.fill_order.iter() {
                let Some(attr) = def.attrs.get(i as usize) else {
                    continue;
                };
                let value = if attr.inherited {
                    self.delay(&attr.value, env)
                } else {
                    self.delay_rec(&attr.value, &inner)
                };
                inner.set(i as usize, value);
            }
            self.register_env(&inner);
            let entries = def
                .attrs
                .iter()
                .enumerate()
                .map(|(i, attr)| AttrEntry {
                    name: attr.name,
                    value: inner.get(i as u32).cloned().unwrap_or(Value::Null),
                    pos: Some(attr.span),
                })
                .collect();
            (entries, inner)
        } else {
            let entries = def
                .attrs
                .iter()
                .map(|attr| AttrEntry {
                    name: attr.name,
                    value: self.delay(&attr.value, env),
                    pos: Some(attr.span),
                })
                .collect();
            (entries, env.clone())
        };
        if def.dynamic.is_empty() {
            return Ok(Value::Attrs(Attrs::from_sorted(entries)));
        }
        for (name_expr, value_expr) in &def.dynamic {
            let name = match self.eval_leaf(name_expr, &value_env)? {
                Value::Null => continue,
                Value::String(s) => {
                    crate::builtins::context::no_context(&s).map_err(|e| e.at(name_expr.span))?;
                    Symbol::intern(s.as_str())
                }
                other => return Err(EvalError::type_error("a string", &other).at(name_expr.span)),
            };
            if let Some(first) = entries.iter().find(|e| e.name == name) {
                return Err(EvalError::new(ErrorKind::DuplicateAttr {
                    name: name.to_string(),
                    first: first
                        .pos
                        .map(|pos| crate::message_position(&self.sources, pos)),
                })
                .at(name_expr.span));
            }
            let value = self.delay(value_expr, &value_env);
            entries.push(AttrEntry {
                name,
                value,
                pos: Some(name_expr.span),
            });
        }
        let _ = span;
        Ok(Value::Attrs(Attrs::from_entries(entries)))
    }
}

#[cfg(test)]
mod tests;
