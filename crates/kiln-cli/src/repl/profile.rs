//! Profiles in the REPL: reading the option tree of a loaded profile for `:doc` and completion.
//! Whether a file is a profile, and its `config`, `options`, `lib` and `pkgs`, come from
//! `kiln_module::evaluate` (the way in every command shares); `:explain` is kiln-module's
//! `explain`, printed as `kiln explain` prints it. Reading an option's type or description is
//! done at the Nix level: an option is a set with `_type = "option"`.

use super::print::{self, Depth};
use kiln_eval::{Attrs, EvalResult, Evaluator, Symbol, Value};
use std::fmt::Write;
use std::path::Path;

/// The option set at `path` (`boot.kernelModules`; a leading `config.` or `options.` is
/// ignored), `None` when there is no option there.
pub(crate) fn find_option(
    ev: &mut Evaluator,
    options: &Value,
    path: &str,
) -> EvalResult<Option<Attrs>> {
    let path = path
        .strip_prefix("config.")
        .or_else(|| path.strip_prefix("options."))
        .unwrap_or(path);
    let mut node = ev.force(options)?;
    for name in path.split('.').filter(|n| !n.is_empty()) {
        let Value::Attrs(attrs) = &node else {
            return Ok(None);
        };
        if is_option(ev, attrs)? {
            return Ok(None);
        }
        match attrs.get(Symbol::intern(name.trim_matches('"'))).cloned() {
            Some(child) => node = ev.force(&child)?,
            None => return Ok(None),
        }
    }
    match node {
        Value::Attrs(attrs) if is_option(ev, &attrs)? => Ok(Some(attrs)),
        _ => Ok(None),
    }
}

/// Whether a set is an option declaration (`_type = "option"`).
pub(crate) fn is_option(ev: &mut Evaluator, attrs: &Attrs) -> EvalResult<bool> {
    match attrs.get(Symbol::intern("_type")).cloned() {
        Some(t) => Ok(matches!(ev.force(&t)?, Value::String(s) if s.as_str() == "option")),
        None => Ok(false),
    }
}

/// The description of an option's type, such as `list of string`.
pub(crate) fn type_description(ev: &mut Evaluator, option: &Attrs) -> EvalResult<Option<String>> {
    let Some(ty) = option.get(Symbol::intern("type")).cloned() else {
        return Ok(None);
    };
    let Value::Attrs(ty) = ev.force(&ty)? else {
        return Ok(None);
    };
    string_attr(ev, &ty, "description")
}

fn string_attr(ev: &mut Evaluator, attrs: &Attrs, name: &str) -> EvalResult<Option<String>> {
    match attrs.get(Symbol::intern(name)).cloned() {
        Some(v) => match ev.force(&v)? {
            Value::String(s) => Ok(Some(s.as_str().to_string())),
            _ => Ok(None),
        },
        None => Ok(None),
    }
}

/// `:doc` for an option: its type, default, example, description and where it is declared.
pub(crate) fn option_doc(
    ev: &mut Evaluator,
    name: &str,
    option: &Attrs,
    color: bool,
) -> EvalResult<String> {
    let mut out = String::new();
    let _ = writeln!(out, "Option: {}", strip_prefix(name));
    if let Some(ty) = type_description(ev, option)? {
        let _ = writeln!(out, "Type: {ty}");
    }
    match string_attr(ev, option, "defaultText")? {
        Some(text) => {
            let _ = writeln!(out, "Default: {text}");
        }
        None => {
            if let Some(default) = option.get(Symbol::intern("default")).cloned() {
                let _ = writeln!(out, "Default: {}", show(ev, &default, color)?);
            }
        }
    }
    if let Some(example) = option.get(Symbol::intern("example")).cloned() {
        if !matches!(ev.force(&example)?, Value::Null) {
            let _ = writeln!(out, "Example: {}", show(ev, &example, color)?);
        }
    }
    if let Some(declarations) = option.get(Symbol::intern("declarations")).cloned() {
        let files = ev.force_list(&declarations)?;
        for file in files.iter() {
            let file = ev.coerce_to_string(file, kiln_eval::Coerce::Interpolation)?;
            let _ = writeln!(out, "Declared in: {}", relative(file.as_str()));
        }
    }
    if let Some(description) = string_attr(ev, option, "description")? {
        out.push('\n');
        for line in description.trim().lines() {
            let _ = writeln!(out, "    {line}");
        }
    }
    Ok(out)
}

pub(crate) fn strip_prefix(name: &str) -> &str {
    name.strip_prefix("config.")
        .or_else(|| name.strip_prefix("options."))
        .unwrap_or(name)
}

/// A value one level deep; an error shows in place.
fn show(ev: &mut Evaluator, value: &Value, color: bool) -> EvalResult<String> {
    print::print_value_or_error(ev, value, Depth::Shallow, color)
}

/// A file name relative to the current directory when it lies inside it.
fn relative(file: &str) -> String {
    match std::env::current_dir() {
        Ok(cwd) => Path::new(file)
            .strip_prefix(&cwd)
            .map_or_else(|_| file.to_string(), |p| p.display().to_string()),
        Err(_) => file.to_string(),
    }
}
