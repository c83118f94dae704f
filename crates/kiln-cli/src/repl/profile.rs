//! Profiles in the REPL: recognising one, evaluating it into `config`, `options`, `lib` and
//! `pkgs`, and reading its option tree for `:explain`, `:doc` and completion.
//!
//! A profile is a module file inside a profile tree, i.e. a directory that has an
//! `eval-config.nix` somewhere above the file (kiln's `profiles/`). It is evaluated the way
//! the driver will: `import eval-config.nix { modules = [ PROFILE ]; pkgs; lib; }`.
//! Until the driver provides the real package set, `pkgs` is the stand-in
//! `tests/module/support/fake-pkgs.nix` next to the tree when it exists, else `{ }`.
//!
//! The option tree is read at the Nix level: an option is a set with `_type = "option"`, and
//! `definitionsWithPriorities` (kiln's lib, see `crates/kiln-module/lib/README.md`) lists each
//! definition with `file`, `line`, `priority`, `mkIf` and `won`.
//! FIXME: switch to kiln-module's Rust API for evaluating a profile and explaining an option
//! once it lands (branch `modrs`), so `kiln explain` and `:explain` print the same thing.

use super::print::{self, Depth};
use kiln_eval::{AttrEntry, Attrs, EvalResult, Evaluator, Symbol, Value};
use std::fmt::Write;
use std::path::{Path, PathBuf};

/// Where a profile and what it is evaluated with live.
#[derive(Clone, Debug)]
pub(crate) struct Spec {
    pub(crate) profile: PathBuf,
    eval_config: PathBuf,
    pkgs: Option<PathBuf>,
}

/// `Some` when `path` is a module inside a profile tree.
pub(crate) fn detect(path: &Path) -> Option<Spec> {
    if path.file_name()? == "eval-config.nix" || !path.is_file() {
        return None;
    }
    let root = path
        .ancestors()
        .skip(1)
        .find(|dir| dir.join("eval-config.nix").is_file())?;
    let pkgs = root
        .parent()
        .map(|repo| repo.join("tests/module/support/fake-pkgs.nix"))
        .filter(|p| p.is_file());
    Some(Spec {
        profile: path.to_path_buf(),
        eval_config: root.join("eval-config.nix"),
        pkgs,
    })
}

/// Evaluates the profile; the names and values to bring into scope.
pub(crate) fn load(ev: &mut Evaluator, spec: &Spec) -> EvalResult<Vec<(String, Value)>> {
    let lib_path = format!("{}/lib", kiln_module::LIB_ROOT);
    let lib = ev.import(&Value::path(lib_path))?;
    let pkgs = match &spec.pkgs {
        Some(path) => ev.import(&path_value(path))?,
        None => Value::Attrs(Attrs::empty()),
    };
    let eval_config = ev.import(&path_value(&spec.eval_config))?;
    let args = Attrs::from_entries(vec![
        entry("lib", lib.clone()),
        entry("modules", Value::list(vec![path_value(&spec.profile)])),
        entry("pkgs", pkgs.clone()),
    ]);
    let result = ev.call(&eval_config, Value::Attrs(args))?;
    let result = ev.force_attrs(&result)?;
    let field = |name: &str| {
        result
            .get(Symbol::intern(name))
            .cloned()
            .unwrap_or(Value::Null)
    };
    Ok(vec![
        ("config".to_string(), field("config")),
        ("lib".to_string(), lib),
        ("options".to_string(), field("options")),
        ("pkgs".to_string(), pkgs),
    ])
}

fn path_value(path: &Path) -> Value {
    Value::path(path.to_string_lossy().into_owned())
}

fn entry(name: &str, value: Value) -> AttrEntry {
    AttrEntry {
        name: Symbol::intern(name),
        value,
        pos: None,
    }
}

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

/// `:explain OPTION`: the merged value, then every definition with its file and line, its
/// priority, and whether it won.
/// `None` when there is no such option.
pub(crate) fn explain(
    ev: &mut Evaluator,
    options: &Value,
    name: &str,
    color: bool,
) -> EvalResult<Option<String>> {
    let Some(option) = find_option(ev, options, name)? else {
        return Ok(None);
    };
    let mut out = String::new();
    let ty = type_description(ev, &option)?.unwrap_or_else(|| "unspecified".to_string());
    let _ = writeln!(out, "{} ({ty})", strip_prefix(name));
    if let Some(value) = option.get(Symbol::intern("value")).cloned() {
        let _ = writeln!(out, "value: {}", show_strict(ev, &value, color)?);
    }
    let defs = match option
        .get(Symbol::intern("definitionsWithPriorities"))
        .cloned()
    {
        Some(defs) => ev.force_list(&defs)?,
        None => return Ok(Some(out)),
    };
    let _ = writeln!(
        out,
        "definitions ({}, in merge order; the lowest priority number wins):",
        defs.len()
    );
    for def in defs.iter() {
        let def = ev.force_attrs(def)?;
        let get = |name: &str| {
            def.get(Symbol::intern(name))
                .cloned()
                .unwrap_or(Value::Null)
        };
        let won = matches!(ev.force(&get("won"))?, Value::Bool(true));
        let priority = match ev.force(&get("priority"))? {
            Value::Int(n) => n,
            _ => 100,
        };
        let mk_if = match ev.force(&get("mkIf"))? {
            Value::Bool(b) => Some(b),
            _ => None,
        };
        let file = match ev.force(&get("file"))? {
            Value::Null => "<unknown file>".to_string(),
            file => relative(
                ev.coerce_to_string(&file, kiln_eval::Coerce::Interpolation)?
                    .as_str(),
            ),
        };
        let location = match ev.force(&get("line"))? {
            Value::Int(line) => format!("{file}:{line}"),
            _ => file,
        };
        let status = match (won, mk_if) {
            (true, _) => "won ",
            (false, Some(false)) => "off ",
            (false, _) => "lost",
        };
        let mut priority_text = format!("priority {priority}{}", priority_name(priority));
        if let Some(cond) = mk_if {
            let _ = write!(priority_text, ", mkIf {cond}");
        }
        let value = show(ev, &get("value"), color)?;
        let _ = writeln!(
            out,
            "  {status}  {location}\n        {priority_text}: {value}"
        );
    }
    Ok(Some(out))
}

/// The wrapper that gives a priority, as a person writes it.
fn priority_name(priority: i64) -> &'static str {
    match priority {
        50 => " (mkForce)",
        60 => " (mkImageMediaOverride)",
        100 => "",
        1000 => " (mkDefault)",
        1500 => " (the option's default)",
        _ => " (mkOverride)",
    }
}

pub(crate) fn strip_prefix(name: &str) -> &str {
    name.strip_prefix("config.")
        .or_else(|| name.strip_prefix("options."))
        .unwrap_or(name)
}

/// A value one level deep; a catchable error shows in place.
fn show(ev: &mut Evaluator, value: &Value, color: bool) -> EvalResult<String> {
    print::print_value_or_error(ev, value, Depth::Shallow, color)
}

fn show_strict(ev: &mut Evaluator, value: &Value, color: bool) -> EvalResult<String> {
    print::print_value_or_error(ev, value, Depth::Strict, color)
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
