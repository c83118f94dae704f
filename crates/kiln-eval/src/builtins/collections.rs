//! Builtins of the `collections` family: `groupBy`, `partition`, `zipAttrsWith` and
//! `genericClosure`.
//!
//! Each forces exactly what Nix 2.8 forces: `groupBy` calls the function on unforced elements,
//! `partition` forces each element first, `zipAttrsWith` returns `f name values` unevaluated
//! for every name, and `genericClosure` keeps the keys it has seen in order of `<` (Nix's
//! `std::set` with `CompareValues`), so comparing keys of different types is an error there
//! too.

use std::collections::{BTreeMap, HashSet, VecDeque};

use super::context::force_string_no_context;
use super::Builtin;
use crate::{AttrEntry, Attrs, ErrorKind, EvalError, EvalResult, Evaluator, Symbol, Thunk, Value};

pub(crate) const BUILTINS: &[Builtin] = &[
    Builtin {
        name: "groupBy",
        arity: 2,
        func: group_by,
    },
    Builtin {
        name: "partition",
        arity: 2,
        func: partition,
    },
    Builtin {
        name: "zipAttrsWith",
        arity: 2,
        func: zip_attrs_with,
    },
    Builtin {
        name: "genericClosure",
        arity: 1,
        func: generic_closure,
    },
];

fn entry(name: &str, value: Value) -> AttrEntry {
    AttrEntry {
        name: Symbol::intern(name),
        value,
        pos: None,
    }
}

fn group_by(ev: &mut Evaluator, args: &[Value]) -> EvalResult<Value> {
    let func = ev.force_function(&args[0])?;
    let list = ev.force_list(&args[1])?;
    let mut groups: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for item in list.iter() {
        let key = ev.call(&func, item.clone())?;
        let key = force_string_no_context(ev, &key)?;
        groups
            .entry(key.as_str().to_owned())
            .or_default()
            .push(item.clone());
    }
    let entries = groups
        .into_iter()
        .map(|(name, items)| entry(&name, Value::list(items)))
        .collect();
    Ok(Value::Attrs(Attrs::from_entries(entries)))
}

fn partition(ev: &mut Evaluator, args: &[Value]) -> EvalResult<Value> {
    let func = ev.force_function(&args[0])?;
    let list = ev.force_list(&args[1])?;
    let (mut right, mut wrong) = (Vec::new(), Vec::new());
    for item in list.iter() {
        let item = ev.force(item)?;
        let res = ev.call(&func, item.clone())?;
        if ev.force_bool(&res)? {
            right.push(item);
        } else {
            wrong.push(item);
        }
    }
    Ok(Value::Attrs(Attrs::from_entries(vec![
        entry("right", Value::list(right)),
        entry("wrong", Value::list(wrong)),
    ])))
}

fn zip_attrs_with(ev: &mut Evaluator, args: &[Value]) -> EvalResult<Value> {
    let func = ev.force_function(&args[0])?;
    let list = ev.force_list(&args[1])?;
    let mut seen: BTreeMap<&'static str, Vec<Value>> = BTreeMap::new();
    for item in list.iter() {
        let attrs = ev.force_attrs(item)?;
        for attr in attrs.iter() {
            seen.entry(attr.name.as_str())
                .or_default()
                .push(attr.value.clone());
        }
    }
    let entries = seen
        .into_iter()
        .map(|(name, values)| {
            let partial = Thunk::apply(func.clone(), Value::string(name));
            entry(name, Thunk::apply(partial, Value::list(values)))
        })
        .collect();
    Ok(Value::Attrs(Attrs::from_entries(entries)))
}

fn generic_closure(ev: &mut Evaluator, args: &[Value]) -> EvalResult<Value> {
    let spec = ev.force_attrs(&args[0])?;
    let required = |name: &str| {
        spec.get_str(name).cloned().ok_or_else(|| {
            EvalError::new(ErrorKind::BuiltinMissingAttr {
                name: name.to_owned(),
                builtin: "genericClosure",
                suggestions: Vec::new(),
            })
        })
    };
    let start_set = required("startSet")?;
    let start_set = ev.force_list(&start_set)?;
    let mut work: VecDeque<Value> = start_set.iter().cloned().collect();
    let operator = required("operator")?;
    let operator = ev.force(&operator)?;
    // The keys seen so far; Nix keeps them in a `std::set` ordered by `<`.
    let mut seen = SeenKeys::Empty;
    let mut res = Vec::new();
    while let Some(item) = work.pop_front() {
        let attrs = ev.force_attrs(&item)?;
        let Some(key) = attrs.get_str("key").cloned() else {
            return Err(EvalError::invalid_argument(
                "genericClosure",
                "attribute 'key' required",
            ));
        };
        let key = ev.force(&key)?;
        if !seen.insert(ev, key)? {
            continue;
        }
        res.push(item.clone());
        let next = ev.call(&operator, item)?;
        let next = ev.force_list(&next)?;
        for elem in next.iter() {
            work.push_back(ev.force(elem)?);
        }
    }
    Ok(Value::list(res))
}

/// The keys `genericClosure` has seen. Keys that are all strings (module keys are) live in a
/// hash set: equal strings are exactly the keys `<` cannot order. Any other keys are kept in a
/// vector sorted with `<`, found by binary search; a sorted vector of thousands of string keys
/// made collecting twenty thousand modules quadratic in its insertions.
enum SeenKeys {
    Empty,
    Strings(HashSet<Box<str>>),
    Sorted(Vec<Value>),
}

impl SeenKeys {
    /// Adds `key` (forced); whether it was new.
    fn insert(&mut self, ev: &mut Evaluator, key: Value) -> EvalResult<bool> {
        match (&mut *self, &key) {
            (SeenKeys::Empty, Value::String(s)) => {
                *self = SeenKeys::Strings(HashSet::from([s.as_str().into()]));
                Ok(true)
            }
            (SeenKeys::Empty, _) => {
                *self = SeenKeys::Sorted(vec![key]);
                Ok(true)
            }
            (SeenKeys::Strings(set), Value::String(s)) => Ok(set.insert(s.as_str().into())),
            (SeenKeys::Strings(set), _) => {
                // Not a string among strings: `<` fails on the pair, unless some day it does
                // not, and then the keys go on in sorted order (sorted here, so the hash order
                // goes nowhere).
                #[allow(clippy::iter_over_hash_type)]
                let mut keys: Vec<Value> = std::mem::take(set)
                    .into_iter()
                    .map(|s| Value::string(&*s))
                    .collect();
                keys.sort_by(|a, b| match (a, b) {
                    (Value::String(a), Value::String(b)) => a.as_str().cmp(b.as_str()),
                    _ => std::cmp::Ordering::Equal,
                });
                *self = SeenKeys::Sorted(keys);
                self.insert(ev, key)
            }
            (SeenKeys::Sorted(keys), _) => {
                // The first index whose key is greater than `key`. Compared as libstdc++'s
                // `std::set::insert` compares: `key < node` on the way down, then
                // `previous < key`, so that keys of different types fail with nix's wording
                // ("cannot compare a string with an integer", the new key first).
                let (mut lo, mut hi) = (0, keys.len());
                while lo < hi {
                    let mid = lo + (hi - lo) / 2;
                    if ev.less_than(&key, &keys[mid])? {
                        hi = mid;
                    } else {
                        lo = mid + 1;
                    }
                }
                if lo > 0 && !ev.less_than(&keys[lo - 1], &key)? {
                    return Ok(false);
                }
                keys.insert(lo, key);
                Ok(true)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::context::testing::{builtin, call, list, s};
    use crate::Value;

    #[test]
    fn group_partition_zip() {
        let items = list(vec![Value::Int(1), s("a"), Value::Int(2)]);
        assert_eq!(
            call("groupBy", &[builtin("typeOf"), items.clone()]),
            r#"{ int = [ 1 2 ]; string = [ "a" ]; }"#
        );
        assert_eq!(
            call("partition", &[builtin("isInt"), items]),
            r#"{ right = [ 1 2 ]; wrong = [ "a" ]; }"#
        );
        assert_eq!(
            call("partition", &[builtin("typeOf"), list(vec![Value::Int(1)])]),
            "error: value is a string while a Boolean was expected"
        );
    }
}
