//! Builtins of the `collections` family: groupBy, partition, zipAttrsWith, genericClosure.
//! See `builtins/mod.rs` for how a builtin is written.

#[allow(unused_imports)]
use crate::{EvalError, EvalResult, Evaluator, Value};

use super::Builtin;

pub(crate) const BUILTINS: &[Builtin] = &[];
