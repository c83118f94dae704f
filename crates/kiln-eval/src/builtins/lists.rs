//! List builtins: `map`, `filter`, `foldl'`, `genList`, `elemAt`, `head`, `tail`, `length`,
//! `elem`, `concatLists`, `concatMap`, `all`, `any`. Results stay lazy where Nix's are
//! (`map`, `genList` produce `f x` thunks).

use super::Builtin;
use crate::value::Mapped;
use crate::{EvalError, EvalResult, Evaluator, Thunk, Value};

pub(crate) const BUILTINS: &[Builtin] = &[
    Builtin {
        name: "map",
        arity: 2,
        func: map,
    },
    Builtin {
        name: "filter",
        arity: 2,
        func: filter,
    },
    Builtin {
        name: "foldl'",
        arity: 3,
        func: foldl,
    },
    Builtin {
        name: "genList",
        arity: 2,
        func: gen_list,
    },
    Builtin {
        name: "elemAt",
        arity: 2,
        func: elem_at,
    },
    Builtin {
        name: "head",
        arity: 1,
        func: head,
    },
    Builtin {
        name: "tail",
        arity: 1,
        func: tail,
    },
    Builtin {
        name: "length",
        arity: 1,
        func: |ev, a| Ok(Value::Int(ev.force_list(&a[0])?.len() as i64)),
    },
    Builtin {
        name: "elem",
        arity: 2,
        func: elem,
    },
    Builtin {
        name: "concatLists",
        arity: 1,
        func: concat_lists,
    },
    Builtin {
        name: "concatMap",
        arity: 2,
        func: concat_map,
    },
    Builtin {
        name: "all",
        arity: 2,
        func: |ev, a| any_all(ev, a, false),
    },
    Builtin {
        name: "any",
        arity: 2,
        func: |ev, a| any_all(ev, a, true),
    },
];

fn map(ev: &mut Evaluator, args: &[Value]) -> EvalResult<Value> {
    let list = ev.force_list(&args[1])?;
    let n = list.len();
    let mapped = std::rc::Rc::new(Mapped::List(args[0].clone(), list));
    Ok(Value::list(
        (0..n).map(|i| Thunk::mapped(&mapped, i)).collect(),
    ))
}

fn call_bool(ev: &mut Evaluator, f: &Value, x: &Value) -> EvalResult<bool> {
    let r = ev.call(f, x.clone())?;
    ev.force_bool(&r)
}

// `filter`, `foldl'`, `all`, `any` and `concatMap` force their function first, even for an
// empty list, as nix 2.8's do ("value is an integer while a function was expected").

fn filter(ev: &mut Evaluator, args: &[Value]) -> EvalResult<Value> {
    ev.force_function(&args[0])?;
    let list = ev.force_list(&args[1])?;
    let mut out = Vec::new();
    for x in list.iter() {
        if call_bool(ev, &args[0], x)? {
            out.push(x.clone());
        }
    }
    if out.len() == list.len() {
        return Ok(Value::List(list));
    }
    Ok(Value::list(out))
}

fn foldl(ev: &mut Evaluator, args: &[Value]) -> EvalResult<Value> {
    ev.force_function(&args[0])?;
    let list = ev.force_list(&args[2])?;
    let mut acc = args[1].clone();
    for x in list.iter() {
        acc = ev.call2(&args[0], acc, x.clone())?;
    }
    ev.force(&acc)
}

fn gen_list(ev: &mut Evaluator, args: &[Value]) -> EvalResult<Value> {
    let n = ev.force_int(&args[1])?;
    if n < 0 {
        return Err(EvalError::invalid_argument(
            "genList",
            format!("cannot create list of size {n}"),
        ));
    }
    // A huge list takes long to allocate without evaluating anything: poll the interrupt flag
    // between chunks. `extend` with a range of known length writes each thunk straight into the
    // list; `push` kept the value on the stack across its growth check and copied it from there
    // (a store-forwarding stall on half of `genList`'s samples).
    let mut items = Vec::new();
    let mut start = 0;
    let mapped = std::rc::Rc::new(Mapped::Indices(args[0].clone()));
    while start < n {
        ev.check_interrupt()?;
        let end = n.min(start + 4096);
        items.extend((start..end).map(|i| Thunk::mapped(&mapped, i as usize)));
        start = end;
    }
    Ok(Value::list(items))
}

fn elem_at(ev: &mut Evaluator, args: &[Value]) -> EvalResult<Value> {
    let list = ev.force_list(&args[0])?;
    let n = ev.force_int(&args[1])?;
    match usize::try_from(n).ok().and_then(|i| list.get(i)) {
        Some(v) => ev.force(v),
        None => Err(EvalError::invalid_argument(
            "elemAt",
            format!("list index {n} is out of bounds"),
        )),
    }
}

fn head(ev: &mut Evaluator, args: &[Value]) -> EvalResult<Value> {
    let list = ev.force_list(&args[0])?;
    match list.get(0) {
        Some(v) => ev.force(v),
        None => Err(EvalError::invalid_argument(
            "head",
            "list index 0 is out of bounds",
        )),
    }
}

fn tail(ev: &mut Evaluator, args: &[Value]) -> EvalResult<Value> {
    let list = ev.force_list(&args[0])?;
    if list.is_empty() {
        return Err(EvalError::invalid_argument(
            "tail",
            "'tail' called on an empty list",
        ));
    }
    Ok(Value::list(list.items()[1..].to_vec()))
}

fn elem(ev: &mut Evaluator, args: &[Value]) -> EvalResult<Value> {
    let list = ev.force_list(&args[1])?;
    for x in list.iter() {
        if ev.equal_stored(&args[0], x)? {
            return Ok(Value::Bool(true));
        }
    }
    Ok(Value::Bool(false))
}

fn concat_lists(ev: &mut Evaluator, args: &[Value]) -> EvalResult<Value> {
    let lists = ev.force_list(&args[0])?;
    let mut out = Vec::new();
    for l in lists.iter() {
        out.extend_from_slice(ev.force_list(l)?.items());
    }
    Ok(Value::list(out))
}

fn concat_map(ev: &mut Evaluator, args: &[Value]) -> EvalResult<Value> {
    ev.force_function(&args[0])?;
    let list = ev.force_list(&args[1])?;
    let mut out = Vec::new();
    for x in list.iter() {
        let r = ev.call(&args[0], x.clone())?;
        match ev.force(&r)? {
            Value::List(l) => out.extend_from_slice(l.items()),
            other => return Err(EvalError::type_error("a list", &other)),
        }
    }
    Ok(Value::list(out))
}

fn any_all(ev: &mut Evaluator, args: &[Value], any: bool) -> EvalResult<Value> {
    ev.force_function(&args[0])?;
    let list = ev.force_list(&args[1])?;
    for x in list.iter() {
        if call_bool(ev, &args[0], x)? == any {
            return Ok(Value::Bool(any));
        }
    }
    Ok(Value::Bool(!any))
}
