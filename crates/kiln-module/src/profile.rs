//! Evaluating a profile: a module file joined with the profile library's option declarations
//! (`profiles/eval-config.nix`), kiln's `lib` and a package set, giving nixpkgs' `evalModules`
//! result with the `lib` and `pkgs` the modules saw: `{ config; options; lib; pkgs; … }`. Also
//! the flat option listing behind `kiln options`.
//!
//! Everything here is a thin Rust door onto Nix code in `lib/` and `profiles/`: the semantics live
//! there, where `nix-instantiate` can check them. The package set is the caller's: kiln-driver
//! passes Debian's, from the lock; tests pass a stand-in.

use crate::embedded::{LibLoader, LIB_ROOT};
use kiln_eval::{AttrEntry, Attrs, EvalOptions, EvalResult, Evaluator, FsLoader, Symbol, Value};
use std::path::{Path, PathBuf};

/// The profile library's entry point, as the evaluator sees it.
pub const EVAL_CONFIG: &str = "/@kiln/profiles/eval-config.nix";

/// The profile `kiln options` and `kiln explain` use when none is given: the small installer.
pub const DEFAULT_PROFILE: &str = "/@kiln/profiles/installer/cd-dvd/installation-cd-minimal.nix";

/// An evaluator that can read the embedded `lib` and profile library (under `/@kiln`, and as
/// `<kiln/lib>`, `<kiln/profiles>`) besides the file system. `options.search_path` is kept, with
/// the `kiln` entry appended so that a user's `-I kiln=…` still wins.
pub fn evaluator(mut options: EvalOptions) -> Evaluator {
    options.search_path.push(crate::search_path_entry());
    Evaluator::new(options, Box::new(LibLoader::new(FsLoader)))
}

/// Evaluates the profile (a module file; a relative path resolves against the current directory)
/// with the profile library and `debian` as the package set: `{ config; options; lib; pkgs; }`
/// (and the rest of `evalModules`' result), lazily — nothing is forced until read. `ev` must
/// read the embedded files (see [`evaluator`]).
pub fn eval_profile(ev: &mut Evaluator, profile: &Path, debian: Value) -> EvalResult<Value> {
    let path = kiln_syntax::canon_path(&absolute(profile).to_string_lossy());
    // Checked here so that a mistyped name is one line, not a trace through the lib's `import`.
    if !ev.loader().exists(Path::new(&path)) {
        return Err(kiln_eval::EvalError::new(kiln_eval::ErrorKind::Io {
            operation: "opening profile",
            path,
            message: "No such file or directory".to_string(),
        }));
    }
    eval_modules(ev, vec![Value::path(path)], debian)
}

/// Like [`eval_profile`] with any list of modules (paths, sets or functions).
pub fn eval_modules(ev: &mut Evaluator, modules: Vec<Value>, debian: Value) -> EvalResult<Value> {
    let eval_config = ev.import(&Value::path(EVAL_CONFIG))?;
    let lib = lib(ev)?;
    let args = Attrs::from_entries(vec![
        entry("modules", Value::list(modules)),
        entry("pkgs", debian),
        entry("lib", lib),
    ]);
    ev.call(&eval_config, Value::Attrs(args))
}

/// kiln's `lib` (`import <kiln/lib>`).
pub fn lib(ev: &mut Evaluator) -> EvalResult<Value> {
    ev.import(&Value::path(format!("{LIB_ROOT}/lib")))
}

/// One declared option, as `kiln options` lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OptionInfo {
    /// `boot.kernelModules`; submodule options appear as `fileSystems.<name>.fsType`.
    pub name: String,
    /// The type's description: "list of string".
    pub type_description: String,
    /// The default as Nix source (its `defaultText` if declared), if the option has one.
    pub default: Option<String>,
    pub description: Option<String>,
    /// The files that declare it.
    pub declarations: Vec<String>,
    /// Internal options are hidden from `kiln options` unless asked for.
    pub internal: bool,
    pub read_only: bool,
}

/// Every option declared in `result` (an [`eval_profile`] result), sorted by name. Defaults that
/// fail to evaluate show as `<error>`; nothing else of the configuration is evaluated.
pub fn options_list(ev: &mut Evaluator, result: &Value) -> EvalResult<Vec<OptionInfo>> {
    let lib = lib(ev)?;
    let options_list = get(ev, &lib, "optionsList")?;
    let options = get(ev, result, "options")?;
    let list = ev.call(&options_list, options)?;
    let list = ev.force_list(&list)?;
    let mut res = Vec::with_capacity(list.len());
    for item in list.iter() {
        let name = get_string(ev, item, "name")?;
        let type_description = get_string(ev, item, "type")?;
        let attrs = ev.force_attrs(item)?;
        let default = match attrs.get_str("default") {
            Some(v) => Some(ev.force_string(v)?.as_str().to_string()),
            None => None,
        };
        let description = optional_string(ev, item, "description")?;
        let files = get_strings(ev, item, "declarations")?;
        let internal = get_bool(ev, item, "internal")?;
        let read_only = get_bool(ev, item, "readOnly")?;
        res.push(OptionInfo {
            name,
            type_description,
            default,
            description,
            declarations: files,
            internal,
            read_only,
        });
    }
    Ok(res)
}

/// Whether `name` is `prefix` or lies below it (`boot` matches `boot.kernelModules`, not `bootx`).
pub fn option_has_prefix(name: &str, prefix: &str) -> bool {
    prefix.is_empty()
        || name == prefix
        || name
            .strip_prefix(prefix)
            .is_some_and(|rest| rest.starts_with('.'))
}

/// `options` as the JSON `kiln options --json` prints: an array of objects with `name`, `type`,
/// `default` (null without one), `description`, `declarations`, `internal`, `readOnly`.
pub fn options_json(options: &[OptionInfo]) -> String {
    let items: Vec<serde_json::Value> = options
        .iter()
        .map(|o| {
            serde_json::json!({
                "name": o.name,
                "type": o.type_description,
                "default": o.default,
                "description": o.description,
                "declarations": o.declarations,
                "internal": o.internal,
                "readOnly": o.read_only,
            })
        })
        .collect();
    serde_json::to_string_pretty(&serde_json::Value::Array(items)).unwrap_or_default()
}

fn absolute(path: &Path) -> PathBuf {
    if path.is_absolute() {
        return path.to_path_buf();
    }
    std::env::current_dir()
        .map(|cwd| cwd.join(path))
        .unwrap_or_else(|_| path.to_path_buf())
}

pub(crate) fn entry(name: &str, value: Value) -> AttrEntry {
    AttrEntry {
        name: Symbol::intern(name),
        value,
        pos: None,
    }
}

/// `value.name`, forcing `value`; a missing name is the evaluator's missing-attribute error.
pub(crate) fn get(ev: &mut Evaluator, value: &Value, name: &str) -> EvalResult<Value> {
    let attrs = ev.force_attrs(value)?;
    match attrs.get_str(name) {
        Some(v) => Ok(v.clone()),
        None => Err(kiln_eval::EvalError::new(
            kiln_eval::ErrorKind::MissingAttr {
                name: name.to_string(),
                suggestions: Vec::new(),
            },
        )),
    }
}

pub(crate) fn get_int(ev: &mut Evaluator, value: &Value, name: &str) -> EvalResult<i64> {
    let v = get(ev, value, name)?;
    ev.force_int(&v)
}

pub(crate) fn get_bool(ev: &mut Evaluator, value: &Value, name: &str) -> EvalResult<bool> {
    let v = get(ev, value, name)?;
    ev.force_bool(&v)
}

/// `value.name`, a list of strings or paths, as text.
pub(crate) fn get_strings(
    ev: &mut Evaluator,
    value: &Value,
    name: &str,
) -> EvalResult<Vec<String>> {
    let v = get(ev, value, name)?;
    let list = ev.force_list(&v)?;
    let mut res = Vec::with_capacity(list.len());
    for item in list.iter() {
        res.push(display_string(ev, item)?);
    }
    Ok(res)
}

pub(crate) fn get_string(ev: &mut Evaluator, value: &Value, name: &str) -> EvalResult<String> {
    let v = get(ev, value, name)?;
    display_string(ev, &v)
}

/// `value.name` as a string, or `None` when it is missing or null.
pub(crate) fn optional_string(
    ev: &mut Evaluator,
    value: &Value,
    name: &str,
) -> EvalResult<Option<String>> {
    let attrs = ev.force_attrs(value)?;
    match attrs.get_str(name) {
        None => Ok(None),
        Some(v) => match ev.force(v)? {
            Value::Null => Ok(None),
            other => Ok(Some(display_string(ev, &other)?)),
        },
    }
}

/// A string or a path as text (declaration files are either).
pub(crate) fn display_string(ev: &mut Evaluator, value: &Value) -> EvalResult<String> {
    match ev.force(value)? {
        Value::Path(p) => Ok(p.to_string()),
        other => Ok(ev.force_string(&other)?.as_str().to_string()),
    }
}
