//! Attribute set builtins: `attrNames`, `attrValues`, `getAttr`, `hasAttr`, `removeAttrs`,
//! `listToAttrs`, `intersectAttrs`, `catAttrs`, `mapAttrs`, `functionArgs`.

use super::Builtin;
use crate::error::ErrorKind;
use crate::value::Mapped;
use crate::{AttrEntry, Attrs, EvalError, EvalResult, Evaluator, Symbol, Thunk, Value};

pub(crate) const BUILTINS: &[Builtin] = &[
    Builtin {
        name: "attrNames",
        arity: 1,
        func: attr_names,
    },
    Builtin {
        name: "attrValues",
        arity: 1,
        func: attr_values,
    },
    Builtin {
        name: "getAttr",
        arity: 2,
        func: get_attr,
    },
    Builtin {
        name: "hasAttr",
        arity: 2,
        func: has_attr,
    },
    Builtin {
        name: "removeAttrs",
        arity: 2,
        func: remove_attrs,
    },
    Builtin {
        name: "listToAttrs",
        arity: 1,
        func: list_to_attrs,
    },
    Builtin {
        name: "intersectAttrs",
        arity: 2,
        func: intersect_attrs,
    },
    Builtin {
        name: "catAttrs",
        arity: 2,
        func: cat_attrs,
    },
    Builtin {
        name: "mapAttrs",
        arity: 2,
        func: map_attrs,
    },
    Builtin {
        name: "functionArgs",
        arity: 1,
        func: function_args,
    },
];

fn attr_names(ev: &mut Evaluator, args: &[Value]) -> EvalResult<Value> {
    let attrs = ev.force_attrs(&args[0])?;
    Ok(Value::list(
        attrs
            .iter()
            .map(|e| Value::string(e.name.as_str()))
            .collect(),
    ))
}

fn attr_values(ev: &mut Evaluator, args: &[Value]) -> EvalResult<Value> {
    let attrs = ev.force_attrs(&args[0])?;
    Ok(Value::list(attrs.iter().map(|e| e.value.clone()).collect()))
}

/// An attribute name argument: a string without context, as Nix's `forceStringNoCtx`.
fn name_arg(ev: &mut Evaluator, value: &Value) -> EvalResult<Symbol> {
    Ok(Symbol::intern(
        super::context::force_string_no_context(ev, value)?.as_str(),
    ))
}

fn get_attr(ev: &mut Evaluator, args: &[Value]) -> EvalResult<Value> {
    let name = name_arg(ev, &args[0])?;
    let attrs = ev.force_attrs(&args[1])?;
    match attrs.get(name) {
        Some(v) => ev.force(v),
        None => Err(EvalError::new(ErrorKind::BuiltinMissingAttr {
            name: name.to_string(),
            builtin: "getAttr",
            suggestions: crate::call::suggest(name.as_str(), attrs.iter().map(|e| e.name.as_str())),
        })),
    }
}

fn has_attr(ev: &mut Evaluator, args: &[Value]) -> EvalResult<Value> {
    let name = name_arg(ev, &args[0])?;
    let attrs = ev.force_attrs(&args[1])?;
    Ok(Value::Bool(attrs.get(name).is_some()))
}

fn remove_attrs(ev: &mut Evaluator, args: &[Value]) -> EvalResult<Value> {
    let attrs = ev.force_attrs(&args[0])?;
    let names = ev.force_list(&args[1])?;
    let mut remove = Vec::with_capacity(names.len());
    for name in names.iter() {
        remove.push(name_arg(ev, name)?);
    }
    remove.sort();
    let kept: Vec<AttrEntry> = attrs
        .iter()
        .filter(|e| remove.binary_search(&e.name).is_err())
        .cloned()
        .collect();
    Ok(Value::Attrs(Attrs::from_entries(kept)))
}

fn list_to_attrs(ev: &mut Evaluator, args: &[Value]) -> EvalResult<Value> {
    let list = ev.force_list(&args[0])?;
    let (name_sym, value_sym) = (Symbol::intern("name"), Symbol::intern("value"));
    let mut entries = Vec::with_capacity(list.len());
    for item in list.iter() {
        let item = ev.force_attrs(item)?;
        let name = match item.get(name_sym) {
            Some(n) => name_arg(ev, &n.clone())?,
            None => {
                return Err(EvalError::new(ErrorKind::BuiltinMissingAttr {
                    name: "name".into(),
                    builtin: "listToAttrs",
                    suggestions: Vec::new(),
                }))
            }
        };
        let Some(entry) = item.entry(value_sym) else {
            return Err(EvalError::new(ErrorKind::BuiltinMissingAttr {
                name: "value".into(),
                builtin: "listToAttrs",
                suggestions: Vec::new(),
            }));
        };
        entries.push(AttrEntry {
            name,
            value: entry.value.clone(),
            pos: entry.pos,
        });
    }
    // A stable sort keeps the first definition of a name first; `from_entries` keeps it.
    entries.sort_by_key(|e| e.name);
    Ok(Value::Attrs(Attrs::from_entries(entries)))
}

fn intersect_attrs(ev: &mut Evaluator, args: &[Value]) -> EvalResult<Value> {
    let left = ev.force_attrs(&args[0])?;
    let right = ev.force_attrs(&args[1])?;
    let kept: Vec<AttrEntry> = right
        .iter()
        .filter(|e| left.get(e.name).is_some())
        .cloned()
        .collect();
    Ok(Value::Attrs(Attrs::from_entries(kept)))
}

fn cat_attrs(ev: &mut Evaluator, args: &[Value]) -> EvalResult<Value> {
    let name = name_arg(ev, &args[0])?;
    let list = ev.force_list(&args[1])?;
    let mut out = Vec::new();
    for item in list.iter() {
        if let Some(v) = ev.force_attrs(item)?.get(name) {
            out.push(v.clone());
        }
    }
    Ok(Value::list(out))
}

fn map_attrs(ev: &mut Evaluator, args: &[Value]) -> EvalResult<Value> {
    let attrs = ev.force_attrs(&args[1])?;
    // Each new value is `f name value`, computed when forced from the shared function and
    // source (one thunk per attribute, where `Thunk::apply` twice made two and the name).
    let mapped = std::rc::Rc::new(Mapped::Attrs(args[0].clone(), attrs.clone()));
    let entries = attrs
        .iter()
        .enumerate()
        .map(|(i, e)| AttrEntry {
            name: e.name,
            value: Thunk::mapped(&mapped, i),
            // nix 2.8's `mapAttrs` builds new attributes without positions.
            pos: None,
        })
        .collect();
    Ok(Value::Attrs(Attrs::from_sorted(entries)))
}

fn function_args(ev: &mut Evaluator, args: &[Value]) -> EvalResult<Value> {
    match ev.force(&args[0])? {
        Value::Lambda(closure) => {
            let Some(formals) = &closure.lambda.formals else {
                return Ok(Value::Attrs(Attrs::empty()));
            };
            let entries = formals
                .entries
                .iter()
                .map(|f| AttrEntry {
                    name: f.name,
                    value: Value::Bool(f.default.is_some()),
                    // As nix: each argument's position is where the formal is written.
                    pos: Some(f.span),
                })
                .collect();
            Ok(Value::Attrs(Attrs::from_entries(entries)))
        }
        Value::PrimOp(_) | Value::PrimOpApp(_) => Ok(Value::Attrs(Attrs::empty())),
        _ => Err(EvalError::invalid_argument(
            "functionArgs",
            "'functionArgs' requires a function",
        )),
    }
}
