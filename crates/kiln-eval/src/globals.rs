//! The base environment: every name of `kiln_syntax::BASE_ENV_NAMES` bound to its builtin, and
//! the `builtins` set. A name no family implements yet is bound to a value whose forcing
//! reports `not_available`, so programs that merely mention it still evaluate.

use crate::builtins::{self, Builtin};
use crate::compile::Globals;
use crate::error::{ErrorKind, EvalError};
use crate::symbol::Symbol;
use crate::value::{AttrEntry, Attrs, Thunk, ThunkState, Value};
use crate::Evaluator;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

/// The value of a builtin: a primop, or for constants the result of running it.
fn builtin_value(ev: &mut Evaluator, builtin: &'static Builtin) -> Value {
    if builtin.arity > 0 {
        return Value::PrimOp(builtin);
    }
    match (builtin.func)(ev, &[]) {
        Ok(v) => v,
        Err(e) => Thunk::native(move |_| Err(EvalError::new(e.kind().clone()))),
    }
}

pub(crate) fn build(ev: &mut Evaluator) -> Globals {
    let mut by_name: BTreeMap<&'static str, Value> = BTreeMap::new();
    for builtin in builtins::all() {
        let value = builtin_value(ev, builtin);
        by_name.insert(builtin.name, value);
    }
    // Names that no family implements yet (see BUILTINS.md).
    for name in kiln_syntax::BASE_ENV_NAMES {
        let bare = name.strip_prefix("__").unwrap_or(name);
        if bare == "builtins" || by_name.contains_key(bare) {
            continue;
        }
        let builtin: &'static str = bare;
        by_name.insert(
            bare,
            Thunk::native(move |_| Err(EvalError::new(ErrorKind::NotAvailable { builtin }))),
        );
    }
    // `builtins.builtins` is the set itself: tie the knot through a thunk.
    let knot = Thunk(Rc::new(RefCell::new(ThunkState::Blackhole)));
    let mut entries: Vec<AttrEntry> = by_name
        .iter()
        .map(|(name, value)| AttrEntry {
            name: Symbol::intern(name),
            value: value.clone(),
            pos: None,
        })
        .collect();
    entries.push(AttrEntry {
        name: Symbol::intern("builtins"),
        value: Value::Thunk(knot.clone()),
        pos: None,
    });
    let set = Value::Attrs(Attrs::from_entries(entries));
    *knot.0.borrow_mut() = ThunkState::Done(set.clone());
    // The knot is a cycle: once the evaluator is dropped only the cycle collector frees it.
    crate::gc::register_thunk(&knot);

    let mut globals = Globals::new();
    for name in kiln_syntax::BASE_ENV_NAMES {
        let bare = name.strip_prefix("__").unwrap_or(name);
        let value = if bare == "builtins" {
            set.clone()
        } else {
            by_name[bare].clone()
        };
        globals.insert(Symbol::intern(name), value);
    }
    globals
}
