//! Arithmetic and bit builtins: `add`, `sub`, `mul`, `div`, `lessThan`, `bitAnd`, `bitOr`,
//! `bitXor`, `ceil`, `floor`. The semantics live in `ops.rs`; these are the entry points.

use super::Builtin;
use crate::{EvalError, EvalResult, Evaluator, Value};

pub(crate) const BUILTINS: &[Builtin] = &[
    Builtin {
        name: "add",
        arity: 2,
        func: |ev, a| ev.add(&a[0], &a[1]),
    },
    Builtin {
        name: "sub",
        arity: 2,
        func: |ev, a| ev.sub(&a[0], &a[1]),
    },
    Builtin {
        name: "mul",
        arity: 2,
        func: |ev, a| ev.mul(&a[0], &a[1]),
    },
    Builtin {
        name: "div",
        arity: 2,
        func: |ev, a| ev.div(&a[0], &a[1]),
    },
    Builtin {
        name: "lessThan",
        arity: 2,
        func: |ev, a| Ok(Value::Bool(ev.less_than(&a[0], &a[1])?)),
    },
    Builtin {
        name: "bitAnd",
        arity: 2,
        func: |ev, a| bit(ev, a, |x, y| x & y),
    },
    Builtin {
        name: "bitOr",
        arity: 2,
        func: |ev, a| bit(ev, a, |x, y| x | y),
    },
    Builtin {
        name: "bitXor",
        arity: 2,
        func: |ev, a| bit(ev, a, |x, y| x ^ y),
    },
    Builtin {
        name: "ceil",
        arity: 1,
        func: |ev, a| round(ev, &a[0], f64::ceil),
    },
    Builtin {
        name: "floor",
        arity: 1,
        func: |ev, a| round(ev, &a[0], f64::floor),
    },
];

fn bit(ev: &mut Evaluator, args: &[Value], op: fn(i64, i64) -> i64) -> EvalResult<Value> {
    let x = ev.force_int(&args[0])?;
    let y = ev.force_int(&args[1])?;
    Ok(Value::Int(op(x, y)))
}

/// `ceil`/`floor`: a number to an integer. Nix converts with C++'s `(NixInt) double`, which on
/// x86-64 gives `i64::MIN` for NaN and for values out of range; kiln does the same.
fn round(ev: &mut Evaluator, arg: &Value, op: fn(f64) -> f64) -> EvalResult<Value> {
    match ev.force(arg)? {
        Value::Int(n) => round(ev, &Value::Float(n as f64), op),
        Value::Float(x) => {
            let r = op(x);
            let in_range = (-9_223_372_036_854_775_808.0..9_223_372_036_854_775_808.0).contains(&r);
            Ok(Value::Int(if in_range { r as i64 } else { i64::MIN }))
        }
        other => Err(EvalError::type_error("a float", &other)),
    }
}
