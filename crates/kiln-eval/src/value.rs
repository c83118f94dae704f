//! Runtime values.
//!
//! A [`Value`] is 16 bytes: a tag plus either an immediate (`Int`, `Float`, `Bool`) or one `Rc`.
//! Everything a Nix program can observe is an `Rc`-shared, immutable structure; the only
//! mutation is a [`Thunk`] being replaced by its result (call-by-need).
//!
//! Design decision: `Value::Thunk` is a variant of `Value` rather than a separate "maybe
//! evaluated" wrapper. Lists, attribute sets and environments hold `Value`s, so a constant or an
//! already evaluated variable is stored as itself and no thunk is allocated for it (Nix's
//! `maybeThunk`). Every consumer that needs a weak head normal form calls
//! [`crate::Evaluator::force`], which never returns a `Thunk`. The rejected alternative, a
//! `Thunk` in every slot, costs one allocation per list element and attribute.

mod attrs;

pub use attrs::Attrs;

use crate::builtins::Builtin;
use crate::eval::Env;
use crate::ir;
use crate::symbol::Symbol;
use compact_str::CompactString;
use kiln_syntax::Span;
use std::cell::RefCell;
use std::collections::BTreeSet;
use std::fmt;
use std::rc::Rc;

// A word-sized tag puts every payload, a `Bool` too, at offset 8, so that a `Value` moves as
// two words. With the default byte tag a `Bool` sits at offset 1, and moving a `Value` (or an
// `EvalResult<Value>`) took overlapping partial-word copies that stall store forwarding: a
// quarter of the time of `fib`.
#[derive(Clone)]
#[repr(u64)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    String(NixString),
    /// An absolute, canonical path. kiln keeps paths as paths (it does not copy them to a store
    /// when they are interpolated into strings).
    Path(Rc<String>),
    Attrs(Attrs),
    List(List),
    Lambda(Rc<Closure>),
    /// A builtin with none of its arguments yet.
    PrimOp(&'static Builtin),
    /// A builtin applied to fewer arguments than its arity.
    PrimOpApp(Rc<PrimOpApp>),
    /// A suspended computation; see the module comment.
    Thunk(Thunk),
}

const _: () = assert!(std::mem::size_of::<Value>() == 16);
const _: () = assert!(std::mem::size_of::<ListData>() == 40);
const _: () = assert!(std::mem::size_of::<RefCell<ThunkState>>() == 32);
const _: () = assert!(std::mem::size_of::<crate::EvalResult<Value>>() == 16);

impl Value {
    /// A string without context.
    pub fn string(s: impl Into<CompactString>) -> Value {
        Value::String(NixString::from_compact(s.into(), None))
    }

    pub fn path(s: impl Into<String>) -> Value {
        Value::Path(Rc::new(s.into()))
    }

    pub fn list(items: Vec<Value>) -> Value {
        Value::List(List::new(items))
    }

    /// The name `builtins.typeOf` returns. A thunk reports `"thunk"`; force first.
    pub fn type_of(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Float(_) => "float",
            Value::String(_) => "string",
            Value::Path(_) => "path",
            Value::Attrs(_) => "set",
            Value::List(_) => "list",
            Value::Lambda(_) | Value::PrimOp(_) | Value::PrimOpApp(_) => "lambda",
            Value::Thunk(_) => "thunk",
        }
    }

    /// The phrase used in type errors, as Nix's `showType`: "an integer", "a set", ...
    pub fn type_phrase(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "a Boolean",
            Value::Int(_) => "an integer",
            Value::Float(_) => "a float",
            Value::String(_) => "a string",
            Value::Path(_) => "a path",
            Value::Attrs(_) => "a set",
            Value::List(_) => "a list",
            Value::Lambda(_) => "a function",
            Value::PrimOp(_) => "a built-in function",
            Value::PrimOpApp(_) => "a partially applied built-in function",
            Value::Thunk(_) => "a thunk",
        }
    }

    pub fn is_function(&self) -> bool {
        matches!(
            self,
            Value::Lambda(_) | Value::PrimOp(_) | Value::PrimOpApp(_)
        )
    }
}

impl fmt::Debug for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("null"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Int(n) => write!(f, "{n}"),
            Value::Float(x) => write!(f, "{x}"),
            Value::String(s) => write!(f, "{:?}", s.as_str()),
            Value::Path(p) => f.write_str(p),
            Value::Attrs(a) => f
                .debug_map()
                .entries(a.iter().map(|e| (e.name, &e.value)))
                .finish(),
            Value::List(l) => f.debug_list().entries(l.iter()).finish(),
            Value::Lambda(_) => f.write_str("<LAMBDA>"),
            Value::PrimOp(_) => f.write_str("<PRIMOP>"),
            Value::PrimOpApp(_) => f.write_str("<PRIMOP-APP>"),
            Value::Thunk(_) => f.write_str("<CODE>"),
        }
    }
}

/// A string and its context: the store paths and derivations it was built from.
/// Most strings have no context, and then the context costs nothing (`None`).
#[derive(Clone)]
pub struct NixString(Rc<StrData>);

/// The text is a `CompactString`, which keeps a text of up to 24 bytes inside itself: most of
/// a Nix program's strings (names, options, short values) then take one allocation, the `Rc`,
/// instead of two. (Kept inline with safe code only, it would need a UTF-8 check on every read;
/// `compact_str` does without.)
struct StrData {
    text: CompactString,
    context: Context,
}

/// The context of a string, in Nix's encoding: `/nix/store/…` (a plain path), `=/…drv` (a
/// derivation and its whole closure), `!out!/…drv` (one output of a derivation).
pub type Context = Option<Box<BTreeSet<Box<str>>>>;

impl NixString {
    pub fn new(text: String) -> NixString {
        NixString::from_compact(CompactString::from(text), None)
    }

    pub fn with_context(text: String, context: Context) -> NixString {
        NixString::from_compact(CompactString::from(text), context)
    }

    pub(crate) fn from_compact(text: CompactString, context: Context) -> NixString {
        let context = context.filter(|c| !c.is_empty());
        // `new_cyclic`: built in place, see `Thunk::apply`.
        NixString(Rc::new_cyclic(|_| StrData { text, context }))
    }

    pub fn as_str(&self) -> &str {
        &self.0.text
    }

    /// Whether `a` and `b` are the same string object (not merely equal texts).
    pub(crate) fn ptr_eq(a: &NixString, b: &NixString) -> bool {
        Rc::ptr_eq(&a.0, &b.0)
    }

    pub fn context(&self) -> &Context {
        &self.0.context
    }

    pub fn has_context(&self) -> bool {
        self.0.context.is_some()
    }

    /// Adds the elements of `context` to `into`.
    pub fn merge_context(into: &mut Context, context: &Context) {
        if let Some(ctx) = context {
            into.get_or_insert_with(Default::default)
                .extend(ctx.iter().cloned());
        }
    }
}

impl fmt::Debug for NixString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.as_str())
    }
}

/// One binding of an attribute set. `pos` is where it was defined (`unsafeGetAttrPos`).
#[derive(Clone)]
pub struct AttrEntry {
    pub name: Symbol,
    pub value: Value,
    pub pos: Option<Span>,
}

/// A list.
///
/// Lists of up to two items keep them inside the `Rc`'s allocation (Nix keeps them inside the
/// value): one allocation instead of two for the `[ x ]`s that `concatMap`, `optional` and the
/// module library make by the million. Longer lists hold a boxed slice.
#[derive(Clone)]
pub struct List(Rc<ListData>);

enum ListData {
    /// `len` items, the rest `Null`.
    Small {
        len: usize,
        items: [Value; 2],
    },
    Heap(Box<[Value]>),
}

impl ListData {
    fn items(&self) -> &[Value] {
        match self {
            ListData::Small { len, items } => &items[..*len],
            ListData::Heap(items) => items,
        }
    }

    fn items_mut(&mut self) -> &mut [Value] {
        match self {
            ListData::Small { len, items } => &mut items[..*len],
            ListData::Heap(items) => items,
        }
    }
}

impl List {
    pub fn new(items: Vec<Value>) -> List {
        if items.len() <= 2 {
            let len = items.len();
            let mut items = items.into_iter();
            return List::small(
                len,
                [
                    items.next().unwrap_or(Value::Null),
                    items.next().unwrap_or(Value::Null),
                ],
            );
        }
        List(Rc::new(ListData::Heap(items.into_boxed_slice())))
    }

    pub(crate) fn empty() -> List {
        List::small(0, [Value::Null, Value::Null])
    }

    /// A list of the first `len` (at most 2) of `items`.
    pub(crate) fn small(len: usize, items: [Value; 2]) -> List {
        debug_assert!(len <= 2);
        if len == 0 {
            thread_local!(static EMPTY: List = List(Rc::new(ListData::Small {
                len: 0,
                items: [Value::Null, Value::Null],
            })));
            return EMPTY.with(List::clone);
        }
        // `new_cyclic`: built in place, see `Thunk::apply`.
        List(Rc::new_cyclic(|_| ListData::Small { len, items }))
    }

    pub fn len(&self) -> usize {
        self.items().len()
    }

    pub fn is_empty(&self) -> bool {
        self.items().is_empty()
    }

    pub fn iter(&self) -> std::slice::Iter<'_, Value> {
        self.items().iter()
    }

    pub fn items(&self) -> &[Value] {
        self.0.items()
    }

    pub fn get(&self, index: usize) -> Option<&Value> {
        self.items().get(index)
    }

    pub(crate) fn ptr(&self) -> *const () {
        Rc::as_ptr(&self.0) as *const ()
    }

    pub(crate) fn strong_count(&self) -> usize {
        Rc::strong_count(&self.0)
    }
}

/// A lambda and the environment it closes over.
pub struct Closure {
    pub(crate) lambda: Rc<ir::Lambda>,
    pub(crate) env: Rc<Env>,
}

impl Closure {
    /// The name the lambda was bound to, if known (for error messages).
    pub fn name(&self) -> Option<Symbol> {
        self.lambda.name
    }

    /// Where the lambda is written (from its argument to the end of its body).
    pub fn span(&self) -> Span {
        self.lambda.span
    }
}

/// A builtin applied to some (fewer than `arity`) arguments.
pub struct PrimOpApp {
    pub op: &'static Builtin,
    pub args: Vec<Value>,
}

/// A suspended computation, evaluated at most once.
#[derive(Clone)]
pub struct Thunk(pub(crate) Rc<RefCell<ThunkState>>);

pub(crate) enum ThunkState {
    /// An expression in an environment.
    Suspended {
        code: Rc<ir::Expr>,
        env: Rc<Env>,
    },
    /// `func arg`, as builtins like `map` produce lazily. Boxed: the two values are twice
    /// what the other states hold, and every thunk would pay for them (56 bytes instead of 48),
    /// while thunks of this kind are a small part of those alive at any time.
    Apply(Box<(Value, Value)>),
    /// Element `index` of what a builtin maps a function over (see [`Mapped`]): the function
    /// and the source are shared by all the elements, so this state needs no box.
    Mapped {
        mapped: Rc<Mapped>,
        index: usize,
    },
    /// Any other lazy computation a builtin needs. It may run again if a first attempt failed.
    Native(NativeThunk),
    /// Being evaluated right now: forcing it again is infinite recursion.
    Blackhole,
    Done(Value),
}

/// A function mapped over something by a builtin, shared by the thunks of the result's
/// elements (`ThunkState::Mapped`).
pub(crate) enum Mapped {
    /// `genList f n`: element `i` is `f i`.
    Indices(Value),
    /// `map f list`: element `i` is `f list[i]`.
    List(Value, List),
    /// `mapAttrs f set`: attribute `i` is `f name value` of the set's attribute `i`.
    Attrs(Value, Attrs),
}

/// The code of a [`ThunkState::Native`] thunk.
pub(crate) type NativeThunk = Rc<dyn Fn(&mut crate::Evaluator) -> crate::EvalResult<Value>>;

impl Thunk {
    /// A thunk computing `func arg` when forced.
    ///
    /// `Rc::new_cyclic` (whose `Weak` is not used) rather than `Rc::new`, here and for the
    /// other small objects made by the million (suspended thunks, one-slot environments,
    /// strings): it allocates first and builds the value in place afterwards. `Rc::new` built
    /// the value on the stack before calling the allocator and copied it after, with wider
    /// loads than the stores that wrote it, which stalled on store forwarding (perf annotate:
    /// a third of `genList`'s samples). string-build 40.0 -> 38.9 ms, fib 43.0 -> 40.1 ms CPU.
    pub fn apply(func: Value, arg: Value) -> Value {
        Value::Thunk(Thunk(Rc::new_cyclic(|_| {
            RefCell::new(ThunkState::Apply(Box::new((func, arg))))
        })))
    }

    /// A thunk computing element `index` of `mapped` when forced.
    pub(crate) fn mapped(mapped: &Rc<Mapped>, index: usize) -> Value {
        Value::Thunk(Thunk(Rc::new_cyclic(|_| {
            RefCell::new(ThunkState::Mapped {
                mapped: mapped.clone(),
                index,
            })
        })))
    }

    /// A thunk running `code` when forced.
    pub fn native(
        code: impl Fn(&mut crate::Evaluator) -> crate::EvalResult<Value> + 'static,
    ) -> Value {
        Value::Thunk(Thunk(Rc::new(RefCell::new(ThunkState::Native(Rc::new(
            code,
        ))))))
    }

    pub(crate) fn suspended(code: Rc<ir::Expr>, env: Rc<Env>) -> Value {
        Value::Thunk(Thunk(Rc::new_cyclic(|_| {
            RefCell::new(ThunkState::Suspended { code, env })
        })))
    }

    /// The value, if this thunk has been evaluated already.
    pub fn value(&self) -> Option<Value> {
        match &*self.0.borrow() {
            ThunkState::Done(v) => Some(v.clone()),
            _ => None,
        }
    }
}

impl Closure {
    /// The formal parameters (name, has a default) and whether there is an ellipsis, for a
    /// lambda with a set pattern; `None` for `x: …`.
    pub fn formal_names(&self) -> Option<(Vec<(Symbol, bool)>, bool)> {
        let formals = self.lambda.formals.as_ref()?;
        Some((
            formals
                .entries
                .iter()
                .map(|f| (f.name, f.default.is_some()))
                .collect(),
            formals.ellipsis,
        ))
    }
}

/// Values nested deeper than the native stack (a list of a list of … built by `foldl'`)
/// would overflow it when dropped recursively. The last owner of a list, set or evaluated
/// thunk therefore moves the children it alone owns onto a heap stack and drops them one by
/// one.
///
/// Children are dropped in their order in the list, first to last. Freeing a large list is
/// bound by the latency of reading each cold thunk, and this order, which for a list built by a
/// builtin is the order its thunks were allocated in, measured faster than last to first
/// (string-build: 42.6 -> 40.7 ms CPU); likely the hardware prefetcher follows it better.
fn drop_iteratively(mut items: Vec<Value>) {
    // A stack pops from its end: reverse it so that the first item comes first.
    items.reverse();
    let mut stack = items;
    while let Some(value) = stack.pop() {
        match value {
            Value::List(mut list) => {
                if let Some(data) = Rc::get_mut(&mut list.0) {
                    let items = data.items_mut();
                    stack.extend(
                        items
                            .iter_mut()
                            .rev()
                            .map(|item| std::mem::replace(item, Value::Null)),
                    );
                }
            }
            Value::Attrs(mut attrs) => {
                if let Some(data) = Rc::get_mut(&mut attrs.0) {
                    data.take_values(&mut stack);
                }
            }
            // The last owner of a thunk moves the children out of its state in place (moving
            // the whole state out, with `Rc::try_unwrap`, took a copy that stalled on store
            // forwarding); what is left is a leaf, freed with the thunk.
            Value::Thunk(thunk) if Rc::strong_count(&thunk.0) == 1 => {
                match &mut *thunk.0.borrow_mut() {
                    ThunkState::Done(v) if is_container(v) => {
                        stack.push(std::mem::replace(v, Value::Null));
                    }
                    ThunkState::Apply(app) => {
                        stack.push(std::mem::replace(&mut app.0, Value::Null));
                        stack.push(std::mem::replace(&mut app.1, Value::Null));
                    }
                    ThunkState::Mapped { mapped, .. } => {
                        if let Some(mapped) = Rc::get_mut(mapped) {
                            let (func, source) = match mapped {
                                Mapped::Indices(func) => (func, Value::Null),
                                Mapped::List(func, list) => {
                                    (func, Value::List(std::mem::replace(list, List::empty())))
                                }
                                Mapped::Attrs(func, attrs) => {
                                    (func, Value::Attrs(std::mem::replace(attrs, Attrs::empty())))
                                }
                            };
                            stack.push(std::mem::replace(func, Value::Null));
                            stack.push(source);
                        }
                    }
                    _ => {}
                }
            }
            _ => {}
        }
    }
}

/// Whether dropping `value` may drop other values (and so recurse).
fn is_container(value: &Value) -> bool {
    matches!(value, Value::List(_) | Value::Attrs(_) | Value::Thunk(_))
}

impl Drop for List {
    fn drop(&mut self) {
        if let Some(data) = Rc::get_mut(&mut self.0) {
            let items = data.items_mut();
            if items.iter().any(is_container) {
                drop_iteratively(
                    items
                        .iter_mut()
                        .map(|item| std::mem::replace(item, Value::Null))
                        .collect(),
                );
            }
        }
    }
}

impl Drop for Attrs {
    fn drop(&mut self) {
        if let Some(data) = Rc::get_mut(&mut self.0) {
            if data.has_containers() {
                let mut values = Vec::new();
                data.take_values(&mut values);
                values.reverse();
                drop_iteratively(values);
            }
        }
    }
}
