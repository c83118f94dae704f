//! The one way in for every command: what a command line names (an expression, a file, a
//! profile), evaluated and selected from as `nix-instantiate` does. `kiln eval`, `options`,
//! `explain`, `repl` and `build` all go through [`evaluate`], with the package set the driver
//! gives (Debian's, from the lock), so they cannot disagree about what a file means.
//!
//! The rules, each in one place:
//! - **Which file.** An expression (`-E`), a file, or, without either, the profile named by
//!   `-I nixos-config=PATH` (or kiln's own `kiln-config=`), as in the NixOS manual's
//!   `nix-build -A config.system.build.isoImage -I nixos-config=PATH`. A command whose
//!   argument *is* the profile refuses one together with `nixos-config` ([`Source::profile`]).
//! - **Is it a profile?** ([`is_profile`]) A file is evaluated as a module, joined with the
//!   profile library, when it could not be evaluated as a plain expression anyway: a function
//!   whose required arguments are all module arguments (`config`, `pkgs`, ...) that no `--arg`
//!   passes, or (`{ ... }: ...` and plain sets) one that `-A config.…`/`-A options.…` selects
//!   from though it has no such attribute. A plain expression keeps Nix's meaning.
//! - **Calling and selecting.** Each `-A` path is followed from the root, list indices
//!   included, calling functions on the way with the `--arg`/`--argstr` set; the result is
//!   called only when there are such arguments (kiln-eval's `select_attr_path` and
//!   `auto_call`, Nix's `findAlongAttrPath` and `autoCallFunction`).

use kiln_eval::{AttrEntry, Attrs, EvalResult, Evaluator, SearchPathEntry, Symbol, Thunk, Value};
use std::path::{Path, PathBuf};

/// What to evaluate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// An expression (`-E`); relative paths in it resolve against `dir`.
    Expr { text: String, dir: PathBuf },
    /// A file (a directory means its `default.nix`).
    File(PathBuf),
}

/// How to decide whether the source is a profile.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// By [`is_profile`] (`kiln eval`, `kiln build`).
    Auto,
    /// As `Auto`, and a set with `imports` is a profile too: the REPL loads a file to explore
    /// it, and a module's own attributes are of no use in scope.
    Explore,
    /// Always (`kiln options`, `kiln explain`, `--profile`, `nixos-config`).
    Profile,
}

/// When the selected value is called with the `--arg`s (Nix's `autoCallFunction`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Call {
    /// Only when there are `--arg`s, as `nix-instantiate --eval` (`-E '{ a }: a'` prints
    /// `<LAMBDA>`).
    WithArguments,
    /// Always, as `nix-build` and `nix repl`'s `:l` (a function whose arguments all have
    /// defaults is called).
    Always,
}

/// One `--arg NAME EXPR` or `--argstr NAME STRING`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AutoArg {
    Expr(String),
    Str(String),
}

/// A command line's evaluation.
#[derive(Clone, Debug)]
pub struct Request {
    pub source: Source,
    pub kind: Kind,
    /// `-A` paths; each selects from the root on its own, as `nix-instantiate` does.
    pub attr_paths: Vec<String>,
    pub auto_args: Vec<(String, AutoArg)>,
    pub call: Call,
    /// Where `--arg` expressions are read (their relative paths resolve against it).
    pub cwd: PathBuf,
}

/// What [`evaluate`] gives.
pub struct Evaluated {
    /// A profile's `{ config; options; lib; pkgs; … }`, or the expression's value.
    pub root: Value,
    pub profile: bool,
    /// One value per `-A` path, or the auto-called root without any.
    pub selected: Vec<Value>,
}

/// The argument names a NixOS module receives from the module system.
const MODULE_ARGS: &[&str] = &[
    "config",
    "options",
    "lib",
    "pkgs",
    "modulesPath",
    "specialArgs",
    "name",
];

/// The search path entries that name the profile, as `<nixos-config>` looks them up (the first
/// one wins).
const CONFIG_PREFIXES: &[&str] = &["kiln-config", "nixos-config"];

impl Source {
    /// The profile a profile command (`build`, `repl`, `options`, `explain`) works on: its
    /// PROFILE argument, else `-I nixos-config=PATH`, else `default`. Both together are an
    /// error naming both, since either could be meant.
    pub fn profile(
        argument: Option<&Path>,
        search_path: &[SearchPathEntry],
        default: &Path,
    ) -> Result<(Source, Kind), String> {
        match (argument, config_from_search_path(search_path)) {
            (Some(argument), Some((prefix, config))) => Err(format!(
                "both the profile argument `{}` and `-I {prefix}={}` name the profile; give one",
                argument.display(),
                config.display()
            )),
            (Some(argument), None) => Ok((Source::File(argument.to_path_buf()), Kind::Auto)),
            (None, Some((_, config))) => Ok((Source::File(config), Kind::Profile)),
            (None, None) => Ok((Source::File(default.to_path_buf()), Kind::Auto)),
        }
    }

    /// What `kiln eval` evaluates: `-E`, FILE, else the `nixos-config` profile, else
    /// `default.nix`, as `nix-instantiate` (which keeps FILE and `-I nixos-config` apart: the
    /// latter is a search path entry a file may use).
    pub fn expression(
        expr: Option<&str>,
        file: Option<&Path>,
        search_path: &[SearchPathEntry],
        cwd: &Path,
    ) -> (Source, Kind) {
        match (expr, file, config_from_search_path(search_path)) {
            (Some(text), _, _) => (
                Source::Expr {
                    text: text.to_string(),
                    dir: cwd.to_path_buf(),
                },
                Kind::Auto,
            ),
            (None, Some(file), _) => (Source::File(cwd.join(file)), Kind::Auto),
            (None, None, Some((_, config))) => (Source::File(cwd.join(config)), Kind::Profile),
            (None, None, None) => (Source::File(cwd.join("default.nix")), Kind::Auto),
        }
    }

    /// The file, if the source is one.
    pub fn file(&self) -> Option<&Path> {
        match self {
            Source::File(path) => Some(path),
            Source::Expr { .. } => None,
        }
    }
}

fn config_from_search_path(search_path: &[SearchPathEntry]) -> Option<(String, PathBuf)> {
    search_path
        .iter()
        .find_map(|entry| match entry.prefix.as_deref() {
            Some(prefix) if CONFIG_PREFIXES.contains(&prefix) => {
                Some((prefix.to_string(), PathBuf::from(&entry.path)))
            }
            _ => None,
        })
}

/// Evaluates a request with `debian` as the profile library's package set (a lazy value: a
/// plain expression never forces it).
pub fn evaluate(ev: &mut Evaluator, request: &Request, debian: Value) -> EvalResult<Evaluated> {
    let auto_args = auto_args(ev, request);
    let value = match &request.source {
        Source::Expr { text, dir } => {
            let file = ev.sources_mut().add_virtual("«string»", dir, text.as_str());
            ev.eval_source(file)?
        }
        Source::File(path) if request.kind == Kind::Profile => {
            let root = crate::eval_profile(ev, path, debian)?;
            return select(ev, request, root, true, &auto_args);
        }
        Source::File(path) => {
            let path = kiln_syntax::canon_path(&absolute(path).to_string_lossy());
            ev.import(&Value::path(path))?
        }
    };
    let profile = request.kind == Kind::Profile || is_profile(ev, &value, request, &auto_args)?;
    let root = match (&request.source, profile) {
        (_, false) => value,
        (Source::File(path), true) => crate::eval_profile(ev, path, debian)?,
        (Source::Expr { .. }, true) => crate::eval_modules(ev, vec![value], debian)?,
    };
    select(ev, request, root, profile, &auto_args)
}

fn select(
    ev: &mut Evaluator,
    request: &Request,
    root: Value,
    profile: bool,
    auto_args: &Attrs,
) -> EvalResult<Evaluated> {
    // `-A` calls functions on its way; the result as `request.call` says.
    let paths: Vec<&str> = if request.attr_paths.is_empty() {
        vec![""]
    } else {
        request.attr_paths.iter().map(String::as_str).collect()
    };
    let mut selected = Vec::with_capacity(paths.len());
    for path in paths {
        let mut value = ev.select_attr_path(&root, path, auto_args)?;
        if request.call == Call::Always || !auto_args.is_empty() {
            value = ev.auto_call(&value, auto_args)?;
        }
        selected.push(value);
    }
    Ok(Evaluated {
        root,
        profile,
        selected,
    })
}

/// Whether `value` (a file's value) is a profile; see the module comment.
pub fn is_profile(
    ev: &mut Evaluator,
    value: &Value,
    request: &Request,
    auto_args: &Attrs,
) -> EvalResult<bool> {
    if request.kind == Kind::Profile {
        return Ok(true);
    }
    let first = |path: &String| path.split('.').next().unwrap_or("").to_string();
    let selects_config = !request.attr_paths.is_empty()
        && request
            .attr_paths
            .iter()
            .all(|p| matches!(first(p).as_str(), "config" | "options"));
    Ok(match ev.force(value)? {
        Value::Lambda(closure) => match closure.formal_names() {
            None => false,
            Some((formals, _)) => {
                let missing: Vec<Symbol> = formals
                    .iter()
                    .filter(|(name, has_default)| !has_default && auto_args.entry(*name).is_none())
                    .map(|(name, _)| *name)
                    .collect();
                let all_module_args = missing.iter().all(|n| MODULE_ARGS.contains(&n.as_str()));
                all_module_args && (!missing.is_empty() || selects_config)
            }
        },
        Value::Attrs(attrs) => {
            let lacks_selection = selects_config
                && request
                    .attr_paths
                    .iter()
                    .all(|p| attrs.get_str(&first(p)).is_none());
            lacks_selection || request.kind == Kind::Explore && attrs.get_str("imports").is_some()
        }
        _ => false,
    })
}

/// The `--arg`/`--argstr` set; `--arg` expressions stay unevaluated until used.
fn auto_args(ev: &mut Evaluator, request: &Request) -> Attrs {
    let entries = request
        .auto_args
        .iter()
        .map(|(name, arg)| {
            let value = match arg {
                AutoArg::Str(text) => Value::string(text.clone()),
                AutoArg::Expr(text) => {
                    let file =
                        ev.sources_mut()
                            .add_virtual("«string»", &request.cwd, text.as_str());
                    Thunk::native(move |ev| ev.eval_source(file))
                }
            };
            AttrEntry {
                name: Symbol::intern(name),
                value,
                pos: None,
            }
        })
        .collect();
    Attrs::from_entries(entries)
}

fn absolute(path: &Path) -> PathBuf {
    if path.is_absolute() {
        return path.to_path_buf();
    }
    std::env::current_dir()
        .map(|cwd| cwd.join(path))
        .unwrap_or_else(|_| path.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(text: &str) -> SearchPathEntry {
        SearchPathEntry::parse(text)
    }

    #[test]
    fn nixos_config_names_the_profile() {
        let default = Path::new("default.nix");
        let (source, kind) =
            Source::profile(None, &[entry("nixos-config=/p.nix")], default).unwrap();
        assert_eq!(
            (source, kind),
            (Source::File("/p.nix".into()), Kind::Profile)
        );
        let err = Source::profile(
            Some(Path::new("a.nix")),
            &[entry("nixos-config=/p.nix")],
            default,
        )
        .unwrap_err();
        assert!(
            err.contains("a.nix") && err.contains("nixos-config=/p.nix"),
            "{err}"
        );
        let (source, _) = Source::profile(None, &[entry("nixpkgs=/x")], default).unwrap();
        assert_eq!(source, Source::File(default.into()));
    }
}
