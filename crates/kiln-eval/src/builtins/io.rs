//! Builtins of the `io` family: `readFile`, `readDir`, `pathExists`, `getEnv` and
//! `unsafeGetAttrPos`.
//!
//! Every read goes through the evaluator's [`crate::Loader`], so tests can evaluate against a
//! fake file system and evaluation stays reproducible. Paths are coerced as Nix's
//! `coerceToPath` does (a path, or a string holding an absolute path).
//! `pathExists` does not follow a final symlink, like Nix's `lstat`, so a dangling link exists.
//! Deliberate difference: a file that is not UTF-8 is read lossily (U+FFFD), because kiln's
//! strings are UTF-8.

use std::path::Path;

use super::context::force_string_no_context;
use super::Builtin;
use crate::{AttrEntry, Attrs, ErrorKind, EvalError, EvalResult, Evaluator, Symbol, Value};

pub(crate) const BUILTINS: &[Builtin] = &[
    Builtin {
        name: "readFile",
        arity: 1,
        func: read_file,
    },
    Builtin {
        name: "readDir",
        arity: 1,
        func: read_dir,
    },
    Builtin {
        name: "pathExists",
        arity: 1,
        func: path_exists,
    },
    Builtin {
        name: "getEnv",
        arity: 1,
        func: get_env,
    },
    Builtin {
        name: "unsafeGetAttrPos",
        arity: 2,
        func: unsafe_get_attr_pos,
    },
];

/// An I/O failure on `path` during `operation`, in nix's words ("opening file '/x': No such
/// file or directory").
pub(crate) fn io_error(operation: &'static str, path: &str, e: &std::io::Error) -> EvalError {
    EvalError::new(ErrorKind::Io {
        operation,
        path: path.to_owned(),
        message: crate::error::system_message(e),
    })
}

fn read_file(ev: &mut Evaluator, args: &[Value]) -> EvalResult<Value> {
    let path = ev.realise_path(&args[0])?;
    let bytes = ev
        .loader()
        .read_file(Path::new(&path))
        .map_err(|e| io_error("opening file", &path, &e))?;
    if bytes.contains(&0) {
        return Err(EvalError::invalid_argument(
            "readFile",
            format!("the contents of the file '{path}' cannot be represented as a Nix string"),
        ));
    }
    let text = String::from_utf8(bytes)
        .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
    Ok(Value::string(text))
}

fn read_dir(ev: &mut Evaluator, args: &[Value]) -> EvalResult<Value> {
    let path = ev.realise_path(&args[0])?;
    let entries = ev
        .loader()
        .read_dir(Path::new(&path))
        .map_err(|e| io_error("opening directory", &path, &e))?;
    let entries = entries
        .into_iter()
        .map(|(name, file_type)| AttrEntry {
            name: Symbol::intern(&name),
            value: Value::string(file_type.as_str()),
            pos: None,
        })
        .collect();
    Ok(Value::Attrs(Attrs::from_entries(entries)))
}

fn path_exists(ev: &mut Evaluator, args: &[Value]) -> EvalResult<Value> {
    let path = ev.realise_path(&args[0])?;
    Ok(Value::Bool(ev.loader().file_type(Path::new(&path)).is_ok()))
}

fn get_env(ev: &mut Evaluator, args: &[Value]) -> EvalResult<Value> {
    let name = force_string_no_context(ev, &args[0])?;
    Ok(Value::string(
        ev.loader().get_env(name.as_str()).unwrap_or_default(),
    ))
}

fn unsafe_get_attr_pos(ev: &mut Evaluator, args: &[Value]) -> EvalResult<Value> {
    let name = force_string_no_context(ev, &args[0])?;
    let attrs = ev.force_attrs(&args[1])?;
    // Found by symbol: the module library asks this for every definition, and a search of the
    // set by text made that quadratic in the size of a module.
    Ok(
        match attrs
            .entry(Symbol::intern(name.as_str()))
            .and_then(|e| e.pos)
        {
            Some(span) => ev.pos_value(span),
            None => Value::Null,
        },
    )
}
