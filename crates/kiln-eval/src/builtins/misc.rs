//! The rest of the core builtins: `toString`, `import`, `scopedImport`, paths (`baseNameOf`,
//! `dirOf`, `toPath`), the search path (`__findFile`, `__nixPath`), the constants
//! (`currentSystem`, `nixVersion`, `langVersion`, `storeDir`, `currentTime`) and the builtins
//! that need a store (`derivation`, `path`, `filterSource`, `toFile`), which go through the
//! evaluator's [`crate::StoreHost`] (`no_store` without one). Nix's fetchers but `fetchGit`
//! (`fetch_git.rs`, local repositories) are `not_available`: kiln fetches only Debian's
//! packages.

use super::Builtin;
use crate::error::ErrorKind;
use crate::{
    AddPath, AttrEntry, Attrs, Coerce, EvalError, EvalResult, Evaluator, NixString, Symbol, Value,
};
use kiln_syntax::canon_path;

pub(crate) const BUILTINS: &[Builtin] = &[
    Builtin {
        name: "toString",
        arity: 1,
        func: |ev, a| Ok(Value::String(ev.coerce_to_string(&a[0], Coerce::ToString)?)),
    },
    Builtin {
        name: "import",
        arity: 1,
        func: |ev, a| ev.import(&a[0]),
    },
    Builtin {
        name: "scopedImport",
        arity: 2,
        func: scoped_import,
    },
    Builtin {
        name: "baseNameOf",
        arity: 1,
        func: base_name_of,
    },
    Builtin {
        name: "dirOf",
        arity: 1,
        func: dir_of,
    },
    Builtin {
        name: "toPath",
        arity: 1,
        func: to_path,
    },
    Builtin {
        name: "findFile",
        arity: 2,
        func: find_file,
    },
    Builtin {
        name: "nixPath",
        arity: 0,
        func: nix_path,
    },
    Builtin {
        name: "currentSystem",
        arity: 0,
        func: |_, _| Ok(Value::string("x86_64-linux")),
    },
    Builtin {
        name: "nixVersion",
        arity: 0,
        func: |_, _| Ok(Value::string("2.8.0")),
    },
    Builtin {
        name: "langVersion",
        arity: 0,
        func: |_, _| Ok(Value::Int(6)),
    },
    Builtin {
        name: "storeDir",
        arity: 0,
        func: |ev, _| Ok(Value::string(ev.options().store_dir.clone())),
    },
    Builtin {
        name: "currentTime",
        arity: 0,
        func: |ev, _| Ok(Value::Int(ev.options().current_time)),
    },
    Builtin {
        name: "derivation",
        arity: 1,
        func: |ev, a| ev.derivation(&a[0]),
    },
    Builtin {
        name: "derivationStrict",
        arity: 1,
        func: |ev, a| ev.derivation_strict(&a[0]),
    },
    Builtin {
        name: "path",
        arity: 1,
        func: path,
    },
    Builtin {
        name: "storePath",
        arity: 1,
        func: |_, _| not_available("storePath"),
    },
    Builtin {
        name: "toFile",
        arity: 2,
        func: to_file,
    },
    Builtin {
        name: "filterSource",
        arity: 2,
        func: filter_source,
    },
    Builtin {
        name: "fetchurl",
        arity: 1,
        func: |_, _| not_available("fetchurl"),
    },
    Builtin {
        name: "fetchTarball",
        arity: 1,
        func: |_, _| not_available("fetchTarball"),
    },
    Builtin {
        name: "fetchMercurial",
        arity: 1,
        func: |_, _| not_available("fetchMercurial"),
    },
    Builtin {
        name: "fetchTree",
        arity: 1,
        func: |_, _| not_available("fetchTree"),
    },
];

fn not_available(builtin: &'static str) -> EvalResult<Value> {
    Err(EvalError::new(ErrorKind::NotAvailable { builtin }))
}

/// `builtins.path { path; name ? <base name>; filter ? null; recursive ? true; sha256 ? null; }`.
fn path(ev: &mut Evaluator, args: &[Value]) -> EvalResult<Value> {
    let attrs = ev.force_attrs(&args[0])?;
    let mut request = None;
    let (mut name, mut filter, mut recursive, mut sha256) = (None, None, true, None);
    for entry in attrs.iter() {
        match entry.name.as_str() {
            "path" => request = Some(ev.realise_path(&entry.value)?),
            "name" => name = Some(ev.force_string(&entry.value)?.as_str().to_string()),
            "filter" => filter = Some(ev.force(&entry.value)?),
            "recursive" => recursive = ev.force_bool(&entry.value)?,
            "sha256" => sha256 = Some(ev.force_string(&entry.value)?.as_str().to_string()),
            other => {
                return Err(EvalError::invalid_argument(
                    "path",
                    format!("unsupported argument '{other}' to 'addPath'"),
                ))
            }
        }
    }
    let Some(path) = request else {
        return Err(EvalError::invalid_argument(
            "path",
            "'path' required".to_string(),
        ));
    };
    let request = AddPath {
        path,
        name,
        filter,
        recursive,
        sha256,
    };
    Ok(Value::String(ev.add_path(&request)?))
}

/// `builtins.filterSource filter path`: `builtins.path { inherit filter path; }`.
fn filter_source(ev: &mut Evaluator, args: &[Value]) -> EvalResult<Value> {
    let path = ev.realise_path(&args[1])?;
    let filter = ev.force(&args[0])?;
    let request = AddPath {
        filter: Some(filter),
        ..AddPath::new(path)
    };
    Ok(Value::String(ev.add_path(&request)?))
}

/// `builtins.toFile name text`.
fn to_file(ev: &mut Evaluator, args: &[Value]) -> EvalResult<Value> {
    let name = ev.force_string(&args[0])?;
    let text = ev.force_string(&args[1])?;
    Ok(Value::String(ev.add_text(name.as_str(), &text)?))
}

fn scoped_import(ev: &mut Evaluator, args: &[Value]) -> EvalResult<Value> {
    let scope = ev.force_attrs(&args[0])?;
    ev.scoped_import(&scope, &args[1])
}

/// Nix's `baseNameOf` (util.cc): the last component, ignoring one trailing slash.
fn base_name(path: &str) -> &str {
    if path.is_empty() {
        return "";
    }
    let mut last = path.len();
    if path.ends_with('/') && last > 1 {
        last -= 1;
    }
    let start = path[..last].rfind('/').map_or(0, |i| i + 1);
    &path[start..last]
}

fn base_name_of(ev: &mut Evaluator, args: &[Value]) -> EvalResult<Value> {
    let s = ev.coerce_to_string(&args[0], Coerce::KeepPaths)?;
    let base = base_name(s.as_str()).to_string();
    Ok(Value::String(NixString::with_context(
        base,
        s.context().clone(),
    )))
}

fn dir_of(ev: &mut Evaluator, args: &[Value]) -> EvalResult<Value> {
    let value = ev.force(&args[0])?;
    let s = ev.coerce_to_string(&value, Coerce::KeepPaths)?;
    let dir = match s.as_str().rfind('/') {
        None => ".".to_string(),
        Some(0) => "/".to_string(),
        Some(i) => s.as_str()[..i].to_string(),
    };
    Ok(match value {
        Value::Path(_) => Value::path(dir),
        _ => Value::String(NixString::with_context(dir, s.context().clone())),
    })
}

fn to_path(ev: &mut Evaluator, args: &[Value]) -> EvalResult<Value> {
    let path = ev.coerce_to_path(&args[0])?;
    Ok(Value::string(canon_path(&path)))
}

fn find_file(ev: &mut Evaluator, args: &[Value]) -> EvalResult<Value> {
    let name = ev.force_string(&args[1])?;
    ev.find_file(&args[0], name.as_str())
}

fn nix_path(ev: &mut Evaluator, _: &[Value]) -> EvalResult<Value> {
    let entries = ev
        .options()
        .search_path
        .iter()
        .map(|entry| {
            Value::Attrs(Attrs::from_entries(vec![
                AttrEntry {
                    name: Symbol::intern("path"),
                    value: Value::string(entry.path.clone()),
                    pos: None,
                },
                AttrEntry {
                    name: Symbol::intern("prefix"),
                    value: Value::string(entry.prefix.clone().unwrap_or_default()),
                    pos: None,
                },
            ]))
        })
        .collect();
    Ok(Value::list(entries))
}
