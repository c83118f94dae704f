//! `kiln eval`: evaluate an expression, a file or a profile and print it exactly as
//! `nix-instantiate --eval` 2.8 does (with `--strict`, `--json`, `-A`, `--arg`, `--argstr`, `-I`).
//!
//! A profile (a module file) is evaluated with the profile library through
//! `kiln_module::eval_profile`, giving `{ config; options; }` for `-A` to select from; the rules that
//! decide when FILE is a profile are in the `--help` text of [`Args`].

use kiln_eval::{
    AttrEntry, Attrs, EvalError, EvalOptions, EvalResult, Evaluator, SearchPathEntry, Symbol,
    Thunk, Value,
};
use miette::IntoDiagnostic;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Evaluate a Nix expression, file or profile, and print it as `nix-instantiate --eval` does.
///
/// FILE is evaluated as a *profile* — a module joined with kiln's profile library, the result being
/// `{ config; options; }` — when `--profile` is given, or when FILE is a function with a `...` set
/// pattern that needs nothing but module arguments (`config`, `options`, `lib`, `pkgs`,
/// `modulesPath`, `specialArgs`), as NixOS modules are, and either names one of them or is
/// selected from with `-A config.…`/`-A options.…`. So `kiln eval -A config.boot.kernelModules
/// PROFILE` works. A profile that is a plain attribute set counts when `-A config.…` (or
/// `options.…`) selects what the set does not have; otherwise it needs `--profile`. Without FILE and `-E`, `-I kiln-config=PROFILE` (or NixOS' `nixos-config=`)
/// names the profile, as in `nix-instantiate '<nixpkgs/nixos>' -A config.x -I nixos-config=...`.
/// With a profile, `--json` forces the value it prints (nix 2.8 needs `--strict` for that).
#[derive(clap::Args)]
pub(crate) struct Args {
    /// Evaluate FILE as a profile (a module) with kiln's profile library, even if it is a plain set.
    #[arg(long)]
    profile: bool,
    /// Evaluate deeply: force every attribute and list element before printing.
    #[arg(long)]
    strict: bool,
    /// Print the value as JSON.
    #[arg(long)]
    json: bool,
    /// Select an attribute path of the result (e.g. `config.boot`).
    #[arg(short = 'A', long = "attr")]
    attr: Vec<String>,
    /// Evaluate this expression instead of a file.
    #[arg(short = 'E', long = "expr")]
    expr: Option<String>,
    /// Pass `NAME = EXPR` to a function result.
    #[arg(long, num_args = 2, value_names = ["NAME", "EXPR"])]
    arg: Vec<String>,
    /// Pass `NAME = "STRING"` to a function result.
    #[arg(long, num_args = 2, value_names = ["NAME", "STRING"])]
    argstr: Vec<String>,
    /// Add a search path entry (`name=path` or `path`) for `<name>`.
    #[arg(short = 'I', long = "include")]
    include: Vec<String>,
    /// Show every frame of an error's trace.
    #[arg(long)]
    show_trace: bool,
    /// The file to evaluate (`default.nix` of the current directory when neither this nor -E).
    file: Option<PathBuf>,
    /// Accepted for nix-instantiate's sake (`--eval`, `--eval-only`): `kiln eval` only evaluates.
    #[arg(long)]
    eval: bool,
    /// Accepted for nix-instantiate's sake: kiln's evaluation never writes to a store.
    #[arg(long)]
    read_write_mode: bool,
    /// Accepted for nix-instantiate's sake: nix's `timeout` setting bounds builds, not
    /// evaluation, and `kiln eval` builds nothing.
    #[arg(long, value_name = "SECONDS")]
    timeout: Option<u64>,
}

pub(crate) fn run(args: Args) -> miette::Result<ExitCode> {
    let cwd = std::env::current_dir().into_diagnostic()?;
    let search_path = crate::search_path(&args.include);
    let current_time = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let options = EvalOptions {
        search_path,
        current_time,
        trace_to_stderr: true,
        ..EvalOptions::default()
    };
    let mut ev = kiln_module::evaluator(options);
    let max_frames = if args.show_trace {
        None
    } else {
        Some(kiln_eval::DEFAULT_TRACE_FRAMES)
    };
    match evaluate(&mut ev, &args, &cwd) {
        Ok(text) => {
            if args.json {
                print!("{text}");
            } else {
                println!("{text}");
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(err) => Err(kiln_module::report(&ev, &err, max_frames)),
    }
}

fn evaluate(ev: &mut Evaluator, args: &Args, cwd: &Path) -> EvalResult<String> {
    let auto_args = auto_args(ev, args, cwd)?;
    let (root, is_profile) = match (
        &args.expr,
        &args.file,
        config_from_search_path(&args.include),
    ) {
        (Some(expr), _, _) => {
            let file = ev.sources_mut().add_virtual("«string»", cwd, expr.as_str());
            (ev.eval_source(file)?, false)
        }
        (None, None, Some(profile)) => (kiln_module::eval_profile(ev, &cwd.join(profile))?, true),
        (None, file, _) => {
            let path = file.clone().unwrap_or_else(|| PathBuf::from("default.nix"));
            let path = cwd.join(path);
            let value = ev.import(&Value::path(kiln_syntax::canon_path(
                &path.to_string_lossy(),
            )))?;
            if args.profile || is_module_function(ev, &value, args, &auto_args)? {
                (kiln_module::eval_profile(ev, &path)?, true)
            } else {
                (value, false)
            }
        }
    };
    // As nix-instantiate: `-A` auto-calls on the way, and the result is called only when there
    // are `--arg`s to call it with (`-E '{ a }: a'` prints `<LAMBDA>`).
    let mut value = root;
    for attr_path in &args.attr {
        value = select_path(ev, &value, attr_path, &auto_args)?;
    }
    if !auto_args.is_empty() {
        value = auto_call(ev, &value, &auto_args)?;
    }
    if args.json {
        // nix 2.8's `--json` without `--strict` stops at the first unevaluated element; for a
        // profile, where nothing is evaluated before it is read, kiln forces what it prints.
        ev.print_json(&value, args.strict || is_profile)
    } else {
        ev.print(&value, args.strict)
    }
}

/// The profile named by `-I kiln-config=PROFILE` or `-I nixos-config=PROFILE`; the first such entry
/// wins, as nix's lookup of `<nixos-config>` takes the first matching search path entry.
fn config_from_search_path(include: &[String]) -> Option<PathBuf> {
    include.iter().find_map(|entry| {
        let entry = SearchPathEntry::parse(entry);
        match entry.prefix.as_deref() {
            Some("kiln-config" | "nixos-config") => Some(PathBuf::from(entry.path)),
            _ => None,
        }
    })
}

/// The argument names a module function may take without anyone passing them on the command line.
const MODULE_ARGS: &[&str] = &[
    "config",
    "options",
    "lib",
    "pkgs",
    "modulesPath",
    "specialArgs",
    "name",
];

/// Whether `value` looks like a NixOS module: a function with a `...` set pattern whose required
/// arguments are all module arguments not passed by `--arg`, and that either names a module
/// argument or is selected from with `-A config…`/`-A options…` (so `{ ... }: { … }` counts); or a
/// set without the `config`/`options` that `-A` selects. Either could not be evaluated as a plain
/// expression anyway (nix would ask for `config`, or miss the attribute), so treating it as a
/// profile takes nothing away.
fn is_module_function(
    ev: &mut Evaluator,
    value: &Value,
    args: &Args,
    auto_args: &Attrs,
) -> EvalResult<bool> {
    let selects_config = !args.attr.is_empty()
        && args.attr.iter().all(|a| {
            let first = a.split('.').next().unwrap_or("");
            first == "config" || first == "options"
        });
    let closure = match ev.force(value)? {
        Value::Lambda(closure) => closure,
        // A module written as a plain set: `-A config.…` on a set without `config` (or
        // `options`) could only fail as an expression, so it is a profile.
        Value::Attrs(attrs) => {
            return Ok(selects_config
                && args.attr.iter().all(|a| {
                    let first = a.split('.').next().unwrap_or("");
                    attrs.get_str(first).is_none()
                }))
        }
        _ => return Ok(false),
    };
    let Some((formals, ellipsis)) = closure.formal_names() else {
        return Ok(false);
    };
    let is_module_arg = |name: &Symbol| MODULE_ARGS.contains(&name.as_str());
    Ok(ellipsis
        && (selects_config || formals.iter().any(|(name, _)| is_module_arg(name)))
        && formals
            .iter()
            .filter(|(_, has_default)| !has_default)
            .all(|(name, _)| is_module_arg(name) && auto_args.entry(*name).is_none()))
}

/// The `--arg`/`--argstr` set; `--arg` expressions stay unevaluated until used.
fn auto_args(ev: &mut Evaluator, args: &Args, cwd: &Path) -> EvalResult<Attrs> {
    let mut entries = Vec::new();
    for pair in args.arg.chunks(2) {
        if let [name, expr] = pair {
            let file = ev.sources_mut().add_virtual("«string»", cwd, expr.as_str());
            let value = Thunk::native(move |ev| ev.eval_source(file));
            entries.push(AttrEntry {
                name: Symbol::intern(name),
                value,
                pos: None,
            });
        }
    }
    for pair in args.argstr.chunks(2) {
        if let [name, s] = pair {
            entries.push(AttrEntry {
                name: Symbol::intern(name),
                value: Value::string(s.clone()),
                pos: None,
            });
        }
    }
    Ok(Attrs::from_entries(entries))
}

/// Nix's `autoCallFunction`: a function with a set pattern is called with the auto arguments it
/// names (all of them if it has `...`); anything else is returned as it is.
pub(crate) fn auto_call(ev: &mut Evaluator, value: &Value, auto_args: &Attrs) -> EvalResult<Value> {
    let value = ev.force(value)?;
    match &value {
        Value::Lambda(closure) => match closure.formal_names() {
            None => Ok(value),
            Some((formals, ellipsis)) => {
                let mut entries = Vec::new();
                for (name, has_default) in formals {
                    match auto_args.entry(name) {
                        Some(entry) => entries.push(entry.clone()),
                        None if has_default => {}
                        None => {
                            return Err(EvalError::new(kiln_eval::ErrorKind::AutoCallArgument {
                                name: name.to_string(),
                            }))
                        }
                    }
                }
                if ellipsis {
                    entries = auto_args.entries().to_vec();
                }
                ev.call(&value, Value::Attrs(Attrs::from_entries(entries)))
            }
        },
        Value::Attrs(attrs) => match attrs.get(Symbol::intern("__functor")) {
            Some(functor) => {
                let functor = functor.clone();
                let inner = ev.call(&functor, value.clone())?;
                auto_call(ev, &inner, auto_args)
            }
            None => Ok(value),
        },
        _ => Ok(value),
    }
}

/// `-A a.b.0`: attribute names and list indices, auto-calling functions before each step, as
/// nix's `findAlongAttrPath` does (and in its words when a step fails).
fn select_path(
    ev: &mut Evaluator,
    root: &Value,
    path: &str,
    auto_args: &Attrs,
) -> EvalResult<Value> {
    use kiln_eval::{ErrorKind, SelectionFailure};
    let failed = |failure| {
        EvalError::new(ErrorKind::SelectionPath {
            path: path.to_string(),
            failure,
        })
    };
    let mut value = root.clone();
    for key in path.split('.').filter(|k| !k.is_empty()) {
        value = auto_call(ev, &value, auto_args)?;
        let index = key.parse::<usize>();
        value = match (ev.force(&value)?, index) {
            (Value::List(list), Ok(index)) => match list.get(index) {
                Some(v) => v.clone(),
                None => return Err(failed(SelectionFailure::IndexOutOfRange { index })),
            },
            (Value::Attrs(attrs), Err(_)) => match attrs.get(Symbol::intern(key)) {
                Some(v) => v.clone(),
                None => {
                    let suggestions =
                        kiln_eval::suggest(key, attrs.iter().map(|e| e.name.as_str()));
                    return Err(failed(SelectionFailure::MissingAttr {
                        name: key.to_string(),
                        suggestions,
                    }));
                }
            },
            (other, index) => {
                let expected = if index.is_ok() { "a list" } else { "a set" };
                return Err(failed(SelectionFailure::WrongType {
                    expected,
                    got: other.type_phrase(),
                }));
            }
        };
    }
    Ok(value)
}
