//! Builtins of the `context` family: `getContext`, `hasContext`, `unsafeDiscardStringContext`,
//! `unsafeDiscardOutputDependency` and `appendContext`, plus [`force_string_no_context`], which
//! other families use where Nix calls `forceStringNoCtx`.
//!
//! A string's context is kept in Nix's own encoding (see [`crate::Context`]): `<store>/…` for
//! a plain store path, `=<store>/….drv` for a derivation with all its outputs, and
//! `!out!<store>/….drv` for one output. `getContext` decodes it into Nix's attribute-set
//! form and `appendContext` encodes that form back, with Nix 2.8's checks: keys must be store
//! paths, and only a `.drv` may carry `allOutputs` or `outputs`.

use std::collections::BTreeMap;

use super::Builtin;
use crate::{
    AttrEntry, Attrs, Coerce, Context, ErrorKind, EvalError, EvalResult, Evaluator, NixString,
    Symbol, Value,
};

pub(crate) const BUILTINS: &[Builtin] = &[
    Builtin {
        name: "getContext",
        arity: 1,
        func: get_context,
    },
    Builtin {
        name: "hasContext",
        arity: 1,
        func: has_context,
    },
    Builtin {
        name: "unsafeDiscardStringContext",
        arity: 1,
        func: discard_string_context,
    },
    Builtin {
        name: "unsafeDiscardOutputDependency",
        arity: 1,
        func: discard_output_dependency,
    },
    Builtin {
        name: "appendContext",
        arity: 2,
        func: append_context,
    },
];

/// `forceStringNoCtx`: a string that must not refer to a store path.
pub(crate) fn force_string_no_context(ev: &mut Evaluator, value: &Value) -> EvalResult<NixString> {
    let s = ev.force_string(value)?;
    no_context(&s)?;
    Ok(s)
}

/// Nix's check in `forceStringNoCtx`: the error names the first context element in its
/// encoded form (`!out!<drv>` for an output), as nix 2.8 prints it.
pub(crate) fn no_context(s: &NixString) -> EvalResult<()> {
    match s.context().as_ref().and_then(|ctx| ctx.iter().next()) {
        Some(first) => Err(EvalError::new(ErrorKind::Unsupported {
            message: format!(
                "the string '{}' is not allowed to refer to a store path (such as '{first}')",
                s.as_str(),
            ),
        })),
        None => Ok(()),
    }
}

/// What one context element says: the path it names and, for a derivation, which outputs.
enum Element<'a> {
    Path,
    AllOutputs,
    Output(&'a str),
}

/// Splits an encoded context element into its store path and its kind.
fn decode(element: &str) -> (&str, Element<'_>) {
    if let Some(drv) = element.strip_prefix('=') {
        return (drv, Element::AllOutputs);
    }
    if let Some(rest) = element.strip_prefix('!') {
        if let Some((output, drv)) = rest.split_once('!') {
            return (drv, Element::Output(output));
        }
    }
    (element, Element::Path)
}

/// Nix's `isStorePath`: `<store dir>/<32 base-32 chars>-<name>`, where the store directory is
/// the evaluator's (`builtins.storeDir`: kiln's store, or `/nix/store` without one).
fn is_store_path(store_dir: &str, path: &str) -> bool {
    let Some(base) = path
        .strip_prefix(store_dir.trim_end_matches('/'))
        .and_then(|rest| rest.strip_prefix('/'))
    else {
        return false;
    };
    let Some((hash, name)) = base.split_at_checked(32) else {
        return false;
    };
    let Some(name) = name.strip_prefix('-') else {
        return false;
    };
    hash.bytes()
        .all(|c| b"0123456789abcdfghijklmnpqrsvwxyz".contains(&c))
        && !name.is_empty()
        && name.len() <= 211
        && name
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || b"+-._?=".contains(&c))
}

fn get_context(ev: &mut Evaluator, args: &[Value]) -> EvalResult<Value> {
    let s = ev.force_string(&args[0])?;
    #[derive(Default)]
    struct Info {
        path: bool,
        all_outputs: bool,
        outputs: Vec<Value>,
    }
    let mut infos: BTreeMap<&str, Info> = BTreeMap::new();
    for element in s.context().iter().flat_map(|ctx| ctx.iter()) {
        let (path, kind) = decode(element);
        let info = infos.entry(path).or_default();
        match kind {
            Element::Path => info.path = true,
            Element::AllOutputs => info.all_outputs = true,
            Element::Output(output) => info.outputs.push(Value::string(output)),
        }
    }
    let entries = infos
        .into_iter()
        .map(|(path, info)| {
            let mut fields = Vec::new();
            if info.all_outputs {
                fields.push(entry("allOutputs", Value::Bool(true)));
            }
            if !info.outputs.is_empty() {
                fields.push(entry("outputs", Value::list(info.outputs)));
            }
            if info.path {
                fields.push(entry("path", Value::Bool(true)));
            }
            entry(path, Value::Attrs(Attrs::from_entries(fields)))
        })
        .collect();
    Ok(Value::Attrs(Attrs::from_entries(entries)))
}

fn entry(name: &str, value: Value) -> AttrEntry {
    AttrEntry {
        name: Symbol::intern(name),
        value,
        pos: None,
    }
}

fn has_context(ev: &mut Evaluator, args: &[Value]) -> EvalResult<Value> {
    let s = ev.force_string(&args[0])?;
    Ok(Value::Bool(s.has_context()))
}

fn discard_string_context(ev: &mut Evaluator, args: &[Value]) -> EvalResult<Value> {
    let s = ev.coerce_to_string(&args[0], Coerce::Interpolation)?;
    Ok(Value::string(s.as_str()))
}

fn discard_output_dependency(ev: &mut Evaluator, args: &[Value]) -> EvalResult<Value> {
    let s = ev.coerce_to_string(&args[0], Coerce::Interpolation)?;
    let context: Context = s.context().as_ref().map(|ctx| {
        Box::new(
            ctx.iter()
                .map(|element| match element.strip_prefix('=') {
                    Some(drv) => drv.into(),
                    None => element.clone(),
                })
                .collect(),
        )
    });
    Ok(Value::String(NixString::with_context(
        s.as_str().to_owned(),
        context,
    )))
}

fn append_context(ev: &mut Evaluator, args: &[Value]) -> EvalResult<Value> {
    let s = ev.force_string(&args[0])?;
    let mut context = s.context().clone();
    let additions = ev.force_attrs(&args[1])?;
    let invalid = |message: String| EvalError::invalid_argument("appendContext", message);
    for addition in additions.iter() {
        let name = addition.name.as_str();
        let at = |e: EvalError| match addition.pos {
            Some(span) => e.at(span),
            None => e,
        };
        if !is_store_path(&ev.options().store_dir, name) {
            return Err(at(invalid(format!(
                "Context key '\"{name}\"' is not a store path"
            ))));
        }
        let spec = ev.force_attrs(&addition.value).map_err(at)?;
        let set = context.get_or_insert_with(Default::default);
        if let Some(path) = spec.get_str("path") {
            if ev.force_bool(path)? {
                set.insert(name.into());
            }
        }
        if let Some(all) = spec.get_str("allOutputs") {
            if ev.force_bool(all)? {
                if !name.ends_with(".drv") {
                    return Err(at(invalid(format!(
                        "Tried to add all-outputs context of \"{name}\", which is not a derivation, to a string"
                    ))));
                }
                set.insert(format!("={name}").into());
            }
        }
        if let Some(outputs) = spec.get_str("outputs") {
            let outputs = ev.force_list(outputs)?;
            if !outputs.is_empty() && !name.ends_with(".drv") {
                return Err(at(invalid(format!(
                    "Tried to add derivation output context of \"{name}\", which is not a derivation, to a string"
                ))));
            }
            for output in outputs.iter() {
                let output = force_string_no_context(ev, output)?;
                set.insert(format!("!{}!{name}", output.as_str()).into());
            }
        }
    }
    Ok(Value::String(NixString::with_context(
        s.as_str().to_owned(),
        context,
    )))
}

/// Helpers for the unit tests of the families in this directory: call a builtin on values
/// and print the result as `nix-instantiate --eval --strict` would.
#[cfg(test)]
pub(crate) mod testing {
    use crate::{EvalOptions, EvalResult, Evaluator, FsLoader, Value};

    pub(crate) fn evaluator() -> Evaluator {
        Evaluator::new(EvalOptions::default(), Box::new(FsLoader))
    }

    /// The builtin called `name`, as a value.
    pub(crate) fn builtin(name: &str) -> Value {
        match crate::builtins::all().find(|b| b.name == name) {
            Some(b) => Value::PrimOp(b),
            None => panic!("no builtin `{name}`"),
        }
    }

    /// `builtins.<name> args...`, printed strictly; an error prints as `error: <message>`.
    pub(crate) fn call(name: &str, args: &[Value]) -> String {
        let mut ev = evaluator();
        let res: EvalResult<Value> = (|| {
            let mut f = builtin(name);
            for arg in args {
                f = ev.call(&f, arg.clone())?;
            }
            Ok(f)
        })();
        match res.and_then(|v| ev.print(&v, true)) {
            Ok(text) => text,
            Err(e) => format!("error: {}", e.kind()),
        }
    }

    /// Evaluates Nix source text and prints the value strictly, or `error: <message>`.
    pub(crate) fn eval_str(source: &str) -> String {
        let mut ev = evaluator();
        let file = ev
            .sources_mut()
            .add_virtual("«test»", std::path::Path::new("/"), source);
        match ev.eval_source(file).and_then(|v| ev.print(&v, true)) {
            Ok(text) => text,
            Err(e) => format!("error: {}", e.kind()),
        }
    }

    pub(crate) fn s(text: &str) -> Value {
        Value::string(text)
    }

    pub(crate) fn list(items: Vec<Value>) -> Value {
        Value::list(items)
    }
}

#[cfg(test)]
mod tests {
    use super::testing::{call, s};
    use crate::{AttrEntry, Attrs, Symbol, Value};

    const PATH: &str = "/nix/store/0c2hmmxcb0i9lmbx8b5r0yk7a6wqdbl3-foo";
    const DRV: &str = "/nix/store/1c2hmmxcb0i9lmbx8b5r0yk7a6wqdbl3-foo.drv";

    fn attrs(entries: Vec<(&str, Value)>) -> Value {
        Value::Attrs(Attrs::from_entries(
            entries
                .into_iter()
                .map(|(name, value)| AttrEntry {
                    name: Symbol::intern(name),
                    value,
                    pos: None,
                })
                .collect(),
        ))
    }

    #[test]
    fn append_then_get() {
        let mut ev = super::testing::evaluator();
        let spec = attrs(vec![
            (PATH, attrs(vec![("path", Value::Bool(true))])),
            (
                DRV,
                attrs(vec![
                    ("outputs", Value::list(vec![s("out"), s("dev")])),
                    ("allOutputs", Value::Bool(true)),
                ]),
            ),
        ]);
        let with_ctx = super::append_context(&mut ev, &[s("x"), spec]).unwrap();
        let got = super::get_context(&mut ev, std::slice::from_ref(&with_ctx)).unwrap();
        // The printer's quoting of names is not ours to test: compare without quotes.
        let printed = ev.print(&got, true).unwrap().replace('"', "");
        assert_eq!(
            printed,
            format!("{{ {PATH} = {{ path = true; }}; {DRV} = {{ allOutputs = true; outputs = [ dev out ]; }}; }}")
        );
        assert_eq!(call("hasContext", std::slice::from_ref(&with_ctx)), "true");
        assert_eq!(call("hasContext", &[s("x")]), "false");
        let discarded =
            super::discard_output_dependency(&mut ev, std::slice::from_ref(&with_ctx)).unwrap();
        let got = super::get_context(&mut ev, &[discarded]).unwrap();
        let printed = ev.print(&got, true).unwrap().replace('"', "");
        assert_eq!(
            printed,
            format!("{{ {PATH} = {{ path = true; }}; {DRV} = {{ outputs = [ dev out ]; path = true; }}; }}")
        );
        assert!(super::force_string_no_context(&mut ev, &with_ctx).is_err());
    }

    #[test]
    fn append_checks_keys() {
        let not_store = attrs(vec![("/tmp/x", attrs(vec![("path", Value::Bool(true))]))]);
        assert!(call("appendContext", &[s("x"), not_store]).contains("is not a store path"));
        let not_drv = attrs(vec![(
            PATH,
            attrs(vec![("outputs", Value::list(vec![s("out")]))]),
        )]);
        assert!(call("appendContext", &[s("x"), not_drv]).contains("which is not a derivation"));
        assert!(super::is_store_path("/nix/store", PATH));
        assert!(!super::is_store_path("/nix/store", "/nix/store/short-foo"));
        // kiln's store, wherever it is.
        let kiln = "/home/u/.cache/kiln/store/0c2hmmxcb0i9lmbx8b5r0yk7a6wqdbl3-foo";
        assert!(super::is_store_path("/home/u/.cache/kiln/store", kiln));
        assert!(super::is_store_path("/home/u/.cache/kiln/store/", kiln));
        assert!(!super::is_store_path("/nix/store", kiln));
        assert!(!super::is_store_path("/home/u/.cache/kiln", kiln));
    }
}
