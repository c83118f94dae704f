//! Control builtins: `throw`, `abort`, `tryEval`, `seq`, `deepSeq`, `trace`,
//! `addErrorContext`.

use super::Builtin;
use crate::error::ErrorKind;
use crate::{AttrEntry, Attrs, Coerce, EvalError, EvalResult, Evaluator, Symbol, Value};

pub(crate) const BUILTINS: &[Builtin] = &[
    Builtin {
        name: "throw",
        arity: 1,
        func: throw,
    },
    Builtin {
        name: "abort",
        arity: 1,
        func: abort,
    },
    Builtin {
        name: "tryEval",
        arity: 1,
        func: try_eval,
    },
    Builtin {
        name: "seq",
        arity: 2,
        func: seq,
    },
    Builtin {
        name: "deepSeq",
        arity: 2,
        func: deep_seq,
    },
    Builtin {
        name: "trace",
        arity: 2,
        func: trace,
    },
    Builtin {
        name: "addErrorContext",
        arity: 2,
        func: add_error_context,
    },
];

fn throw(ev: &mut Evaluator, args: &[Value]) -> EvalResult<Value> {
    let msg = ev.coerce_to_string(&args[0], Coerce::Interpolation)?;
    Err(EvalError::throw(msg.as_str()))
}

fn abort(ev: &mut Evaluator, args: &[Value]) -> EvalResult<Value> {
    let msg = ev.coerce_to_string(&args[0], Coerce::Interpolation)?;
    Err(EvalError::new(ErrorKind::Abort(msg.as_str().to_string())))
}

fn try_eval(ev: &mut Evaluator, args: &[Value]) -> EvalResult<Value> {
    let (success, value) = match ev.force(&args[0]) {
        Ok(v) => (true, v),
        Err(e) if e.is_catchable() => (false, Value::Bool(false)),
        Err(e) => return Err(e),
    };
    Ok(Value::Attrs(Attrs::from_entries(vec![
        AttrEntry {
            name: Symbol::intern("success"),
            value: Value::Bool(success),
            pos: None,
        },
        AttrEntry {
            name: Symbol::intern("value"),
            value,
            pos: None,
        },
    ])))
}

fn seq(ev: &mut Evaluator, args: &[Value]) -> EvalResult<Value> {
    ev.force(&args[0])?;
    ev.force(&args[1])
}

fn deep_seq(ev: &mut Evaluator, args: &[Value]) -> EvalResult<Value> {
    ev.force_deep(&args[0])?;
    ev.force(&args[1])
}

fn trace(ev: &mut Evaluator, args: &[Value]) -> EvalResult<Value> {
    let msg = ev.force(&args[0])?;
    let text = match &msg {
        Value::String(s) => s.as_str().to_string(),
        other => ev.print(other, false)?,
    };
    if ev.options().trace_to_stderr {
        #[allow(clippy::print_stderr)]
        {
            eprintln!("trace: {text}");
        }
    }
    ev.force(&args[1])
}

fn add_error_context(ev: &mut Evaluator, args: &[Value]) -> EvalResult<Value> {
    match ev.force(&args[1]) {
        Ok(v) => Ok(v),
        Err(e) => {
            let context = ev.coerce_to_string(&args[0], Coerce::Interpolation)?;
            Err(e.frame(None, || context.as_str().to_string()))
        }
    }
}
