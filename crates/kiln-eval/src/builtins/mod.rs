//! The builtins: one table per family file, all listed in [`FAMILIES`].
//!
//! # Writing a builtin
//!
//! A builtin is a [`Builtin`]: its name in the `builtins` set (without `__`), its arity and a
//! plain function. Add it to the `BUILTINS` table of its family file; nothing else needs to
//! change. The global names (`__foo`, or `foo` for `map`, `toString`, ...) are bound from
//! `kiln_syntax::BASE_ENV_NAMES`, exactly as Nix 2.8 binds them.
//!
//! ```text
//! pub(crate) const BUILTINS: &[Builtin] = &[
//!     Builtin { name: "stringLength", arity: 1, func: string_length },
//! ];
//!
//! fn string_length(ev: &mut Evaluator, args: &[Value]) -> EvalResult<Value> {
//!     let s = ev.coerce_to_string(&args[0], Coerce::Interpolation)?;
//!     Ok(Value::Int(s.as_str().len() as i64))
//! }
//! ```
//!
//! - **Arity.** `func` is called once `arity` arguments have been supplied; until then the
//!   value is a `<PRIMOP-APP>`. An arity of 0 declares a constant: `func` runs once when the
//!   evaluator starts, with no arguments, and its result is the value of the name.
//! - **Laziness.** Arguments arrive unevaluated (they may be [`Value::Thunk`]s). Force what you
//!   need, in the order Nix forces it, with [`Evaluator::force`] or the typed helpers
//!   (`force_int`, `force_bool`, `force_string`, `force_attrs`, `force_list`,
//!   `coerce_to_string`, `force_deep`). Results should stay lazy where Nix's are: put
//!   [`Thunk::apply`] (`f x`, unevaluated) or [`Thunk::native`] into lists and sets instead of
//!   calling functions eagerly.
//! - **Calling back.** [`Evaluator::call`] applies a function value to one argument;
//!   `less_than` and `equal` implement `<` and `==`.
//! - **Errors.** Return an [`EvalError`]: `EvalError::type_error("a string", &value)` for a
//!   wrong type (the typed helpers do this for you), `EvalError::invalid_argument("name", msg)`
//!   for a bad value, `EvalError::throw(msg)` for an error `tryEval` must catch. The evaluator
//!   adds the span of the call and a "while calling `name`" frame; don't add them yourself.
//! - **I/O** goes through [`Evaluator::loader`] only; never touch `std::fs` or `std::env`.
//! - **Status.** Update the table in `crates/kiln-eval/BUILTINS.md`.
//!
//! Unit tests of a builtin belong in the corpus (`tests/eval/ok/builtin-<name>-*.nix`), which
//! the differential test also runs through `nix-instantiate`.

use crate::error::EvalResult;
use crate::value::Value;
use crate::Evaluator;

#[allow(unused_imports)]
use crate::{error::EvalError, value::Thunk};

mod arith;
mod attrs;
mod collections;
pub(crate) mod context;
mod control;
pub mod docs;
mod fetch_git;
mod hash;
mod io;
pub(crate) mod json;
mod json_error;
mod lists;
mod misc;
mod sort;
mod strings;
mod types;
mod versions;
mod xml;

/// The signature of a builtin: the evaluator and exactly `arity` arguments.
pub type BuiltinFn = fn(&mut Evaluator, &[Value]) -> EvalResult<Value>;

/// A builtin function or constant (see the module comment).
pub struct Builtin {
    /// The name in the `builtins` set, e.g. `"replaceStrings"`.
    pub name: &'static str,
    /// The number of arguments; 0 for a constant.
    pub arity: usize,
    pub func: BuiltinFn,
}

impl std::fmt::Debug for Builtin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "builtins.{}", self.name)
    }
}

/// Every family's table. A name must appear in one table only (a test checks it).
pub(crate) const FAMILIES: &[&[Builtin]] = &[
    arith::BUILTINS,
    attrs::BUILTINS,
    collections::BUILTINS,
    context::BUILTINS,
    control::BUILTINS,
    fetch_git::BUILTINS,
    hash::BUILTINS,
    io::BUILTINS,
    json::BUILTINS,
    lists::BUILTINS,
    misc::BUILTINS,
    sort::BUILTINS,
    strings::BUILTINS,
    types::BUILTINS,
    versions::BUILTINS,
    xml::BUILTINS,
];

/// Iterates over all builtins of all families.
pub(crate) fn all() -> impl Iterator<Item = &'static Builtin> {
    FAMILIES.iter().flat_map(|family| family.iter())
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    #[test]
    fn every_base_env_name_is_implemented() {
        let names: HashSet<&str> = super::all().map(|b| b.name).collect();
        for name in kiln_syntax::BASE_ENV_NAMES {
            let bare = name.strip_prefix("__").unwrap_or(name);
            assert!(
                bare == "builtins" || names.contains(bare),
                "`{name}` has no builtin"
            );
        }
    }

    #[test]
    fn names_are_unique() {
        let mut seen = HashSet::new();
        for builtin in super::all() {
            assert!(
                seen.insert(builtin.name),
                "builtin `{}` is defined twice",
                builtin.name
            );
        }
    }
}
