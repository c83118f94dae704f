//! Type predicates and the constants `true`, `false`, `null`.

use super::Builtin;
use crate::{EvalResult, Evaluator, Value};

pub(crate) const BUILTINS: &[Builtin] = &[
    Builtin {
        name: "true",
        arity: 0,
        func: |_, _| Ok(Value::Bool(true)),
    },
    Builtin {
        name: "false",
        arity: 0,
        func: |_, _| Ok(Value::Bool(false)),
    },
    Builtin {
        name: "null",
        arity: 0,
        func: |_, _| Ok(Value::Null),
    },
    Builtin {
        name: "typeOf",
        arity: 1,
        func: |ev, a| Ok(Value::string(ev.force(&a[0])?.type_of())),
    },
    Builtin {
        name: "isNull",
        arity: 1,
        func: |ev, a| is(ev, a, |v| matches!(v, Value::Null)),
    },
    Builtin {
        name: "isBool",
        arity: 1,
        func: |ev, a| is(ev, a, |v| matches!(v, Value::Bool(_))),
    },
    Builtin {
        name: "isInt",
        arity: 1,
        func: |ev, a| is(ev, a, |v| matches!(v, Value::Int(_))),
    },
    Builtin {
        name: "isFloat",
        arity: 1,
        func: |ev, a| is(ev, a, |v| matches!(v, Value::Float(_))),
    },
    Builtin {
        name: "isString",
        arity: 1,
        func: |ev, a| is(ev, a, |v| matches!(v, Value::String(_))),
    },
    Builtin {
        name: "isPath",
        arity: 1,
        func: |ev, a| is(ev, a, |v| matches!(v, Value::Path(_))),
    },
    Builtin {
        name: "isAttrs",
        arity: 1,
        func: |ev, a| is(ev, a, |v| matches!(v, Value::Attrs(_))),
    },
    Builtin {
        name: "isList",
        arity: 1,
        func: |ev, a| is(ev, a, |v| matches!(v, Value::List(_))),
    },
    Builtin {
        name: "isFunction",
        arity: 1,
        func: |ev, a| is(ev, a, Value::is_function),
    },
];

fn is(ev: &mut Evaluator, args: &[Value], pred: fn(&Value) -> bool) -> EvalResult<Value> {
    Ok(Value::Bool(pred(&ev.force(&args[0])?)))
}
