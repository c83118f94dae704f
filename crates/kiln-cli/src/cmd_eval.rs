//! `kiln eval`: evaluate an expression or file and print it exactly as
//! `nix-instantiate --eval` 2.8 does (with `--strict`, `--json`, `-A`, `--arg`, `--argstr`, `-I`).

use kiln_eval::{
    AttrEntry, Attrs, EvalError, EvalOptions, EvalResult, Evaluator, FsLoader, SearchPathEntry,
    Symbol, Thunk, Value,
};
use miette::IntoDiagnostic;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(clap::Args)]
pub(crate) struct Args {
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
}

pub(crate) fn run(args: Args) -> miette::Result<ExitCode> {
    let cwd = std::env::current_dir().into_diagnostic()?;
    let mut search_path: Vec<SearchPathEntry> = args
        .include
        .iter()
        .map(|e| SearchPathEntry::parse(e))
        .collect();
    if let Ok(nix_path) = std::env::var("NIX_PATH") {
        search_path.extend(
            nix_path
                .split(':')
                .filter(|e| !e.is_empty())
                .map(SearchPathEntry::parse),
        );
    }
    // Relative entries are relative to the working directory, as in Nix.
    for entry in &mut search_path {
        if !entry.path.starts_with('/') && !entry.path.contains("://") {
            entry.path = kiln_eval::canon_path(&cwd.join(&entry.path).to_string_lossy());
        }
    }
    let current_time = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let options = EvalOptions {
        search_path,
        current_time,
        trace_to_stderr: true,
        ..EvalOptions::default()
    };
    let mut ev = Evaluator::new(options, Box::new(FsLoader));
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
        Err(err) => Err(miette::Report::new(err.report(ev.sources(), max_frames))),
    }
}

fn evaluate(ev: &mut Evaluator, args: &Args, cwd: &Path) -> EvalResult<String> {
    let root = match (&args.expr, &args.file) {
        (Some(expr), _) => {
            let file = ev.sources_mut().add_virtual("«string»", cwd, expr.as_str());
            ev.eval_source(file)?
        }
        (None, file) => {
            let path = file.clone().unwrap_or_else(|| PathBuf::from("default.nix"));
            let path = cwd.join(path);
            ev.import(&Value::path(kiln_eval::canon_path(&path.to_string_lossy())))?
        }
    };
    let auto_args = auto_args(ev, args, cwd)?;
    let mut value = auto_call(ev, &root, &auto_args)?;
    for attr_path in &args.attr {
        value = select_path(ev, &value, attr_path, &auto_args)?;
    }
    if args.json {
        ev.print_json(&value, args.strict)
    } else {
        ev.print(&value, args.strict)
    }
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
fn auto_call(ev: &mut Evaluator, value: &Value, auto_args: &Attrs) -> EvalResult<Value> {
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
                            return Err(EvalError::new(kiln_eval::ErrorKind::MissingArgument {
                                name: name.to_string(),
                                function: closure.name().map(|n| n.to_string()),
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

/// `-A a.b.0`: attribute names and list indices, auto-calling functions on the way.
fn select_path(
    ev: &mut Evaluator,
    root: &Value,
    path: &str,
    auto_args: &Attrs,
) -> EvalResult<Value> {
    let mut value = auto_call(ev, root, auto_args)?;
    for key in path.split('.').filter(|k| !k.is_empty()) {
        value = match (ev.force(&value)?, key.parse::<usize>()) {
            (Value::List(list), Ok(index)) => match list.get(index) {
                Some(v) => v.clone(),
                None => {
                    return Err(EvalError::invalid_argument(
                        "-A",
                        format!("list index {index} out of range"),
                    ))
                }
            },
            (Value::Attrs(attrs), _) => match attrs.get(Symbol::intern(key)) {
                Some(v) => v.clone(),
                None => {
                    return Err(EvalError::new(kiln_eval::ErrorKind::MissingAttr {
                        name: key.to_string(),
                        suggestions: Vec::new(),
                    }))
                }
            },
            (other, _) => return Err(EvalError::type_error("a set", &other)),
        };
        value = auto_call(ev, &value, auto_args)?;
    }
    Ok(value)
}
