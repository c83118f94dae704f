//! `kiln eval`: evaluate an expression, a file or a profile and print it exactly as
//! `nix-instantiate --eval` 2.8 does (with `--strict`, `--json`, `-A`, `--arg`, `--argstr`, `-I`).
//! What FILE means (a plain expression or a profile) is decided by `kiln_module::evaluate`, the
//! way in every command shares; this file reads the flags and prints.

use kiln_driver::{Session, SessionOptions};
use kiln_eval::EvalOptions;
use kiln_module::{AutoArg, Kind, Request, Source};
use miette::IntoDiagnostic;
use std::path::PathBuf;
use std::process::ExitCode;

/// Evaluate a Nix expression, file or profile, and print it as `nix-instantiate --eval` does.
///
/// FILE is evaluated as a *profile* — a module joined with kiln's profile library, the result being
/// `{ config; options; lib; pkgs; }` — when `--profile` is given, or when it could not be
/// evaluated as a plain expression anyway: a function whose required arguments are all module
/// arguments (`config`, `options`, `lib`, `pkgs`, `modulesPath`, `specialArgs`) not passed with
/// `--arg`, or a set or `{ ... }:` function that `-A config.…`/`-A options.…` selects from though
/// it has no such attribute. So `kiln eval -A config.boot.kernelModules PROFILE` works. Without
/// FILE and `-E`, `-I kiln-config=PROFILE` (or NixOS' `nixos-config=`) names the profile.
/// Packages come from the profile's `kiln.lock`, offline; derivations and paths in strings are
/// store paths of kiln's store (`$KILN_STORE`), which evaluation computes but does not build
/// (sources it writes with `--read-write-mode`, and the trees `fetchGit` checks out).
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
    /// Select an attribute path of the result (e.g. `config.boot`, `list.0`); given twice,
    /// each is printed.
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
    /// The store whose paths derivations and sources get (default: `$KILN_STORE`, else
    /// `~/.cache/kiln/store`).
    #[arg(long, value_name = "DIR")]
    store: Option<PathBuf>,
    /// The file to evaluate (`default.nix` of the current directory when neither this nor -E).
    file: Option<PathBuf>,
    /// Accepted for nix-instantiate's sake (`--eval`, `--eval-only`): `kiln eval` only evaluates.
    #[arg(long)]
    eval: bool,
    /// Write sources to the store as evaluation adds them (`toFile`, `builtins.path`,
    /// `filterSource`, paths in strings), as nix-instantiate's `--read-write-mode` does, so that
    /// `readFile`, `readDir` and `import` can read them back. Without it they are computed only
    /// (`fetchGit` writes its tree either way).
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
    let (source, kind) = Source::expression(
        args.expr.as_deref(),
        args.file.as_deref(),
        &search_path,
        &cwd,
    );
    let kind = if args.profile { Kind::Profile } else { kind };
    let mut options = SessionOptions::for_evaluation(&source);
    if let Some(store) = &args.store {
        options.store = store.clone();
    }
    options.read_write_mode = args.read_write_mode;
    let session = Session::open(options)?;
    let current_time = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    let mut ev = session.evaluator(EvalOptions {
        search_path,
        current_time,
        trace_to_stderr: true,
        ..EvalOptions::default()
    });
    let request = Request {
        source,
        kind,
        attr_paths: args.attr.clone(),
        auto_args: auto_args(&args),
        call: kiln_module::Call::WithArguments,
        cwd,
    };
    let max_frames = if args.show_trace {
        None
    } else {
        Some(kiln_eval::DEFAULT_TRACE_FRAMES)
    };
    let printed = session.evaluate(&mut ev, &request).and_then(|evaluated| {
        let mut texts = Vec::new();
        for value in &evaluated.selected {
            texts.push(if args.json {
                // nix 2.8's `--json` without `--strict` stops at the first unevaluated
                // element; for a profile, where nothing is evaluated before it is read, kiln
                // forces what it prints.
                ev.print_json(value, args.strict || evaluated.profile)?
            } else {
                ev.print(value, args.strict)?
            });
        }
        Ok(texts)
    });
    match printed {
        Ok(texts) => {
            for text in texts {
                if args.json {
                    print!("{text}");
                } else {
                    println!("{text}");
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(err) => Err(kiln_module::report(&ev, &session.annotate(err), max_frames)),
    }
}

fn auto_args(args: &Args) -> Vec<(String, AutoArg)> {
    let exprs = args.arg.chunks(2).filter_map(|pair| match pair {
        [name, expr] => Some((name.clone(), AutoArg::Expr(expr.clone()))),
        _ => None,
    });
    let strings = args.argstr.chunks(2).filter_map(|pair| match pair {
        [name, text] => Some((name.clone(), AutoArg::Str(text.clone()))),
        _ => None,
    });
    exprs.chain(strings).collect()
}
