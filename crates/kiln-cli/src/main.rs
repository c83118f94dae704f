//! The `kiln` binary: argument parsing and reporting only; the work lives in the library crates.

use clap::{CommandFactory, Parser, Subcommand};
use std::process::ExitCode;

#[global_allocator]
static GLOBAL: alloc::MiMalloc = alloc::MiMalloc;

mod alloc;
mod cmd_build;
mod cmd_diff;
mod cmd_docs;
mod cmd_eval;
mod cmd_explain;
mod cmd_options;
mod cmd_parse;
mod cmd_repl;
mod cmd_run;
mod cmd_store;
mod nix_args;
mod progress;
mod repl;
mod report;

/// kiln builds bootable live ISO images from declarative profiles written in the Nix language.
#[derive(Parser)]
#[command(name = "kiln", version, about)]
struct Cli {
    /// How to print errors: `raw` is `error: MESSAGE` then code, spans and help, unwrapped (as
    /// nix prints them); `rich` is the full report; `auto` is rich on a terminal without
    /// `NO_COLOR`, raw elsewhere.
    #[arg(long, global = true, value_enum, default_value = "auto")]
    log_format: report::LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    Parse(cmd_parse::Args),
    Eval(cmd_eval::Args),
    Options(cmd_options::Args),
    Explain(cmd_explain::Args),
    /// Explore expressions and profiles interactively, like `nix repl`.
    Repl(cmd_repl::Args),
    Build(cmd_build::Args),
    Lock(cmd_build::LockArgs),
    Run(cmd_run::Args),
    /// Look after the local store: list, verify, collect garbage.
    Store(cmd_store::Args),
    Diff(cmd_diff::Args),
    Completions(cmd_docs::CompletionsArgs),
    Man(cmd_docs::ManArgs),
}

/// The search path of `-I` entries then `NIX_PATH`'s, as Nix builds it; relative entries are
/// relative to the working directory.
pub(crate) fn search_path(include: &[String]) -> Vec<kiln_eval::SearchPathEntry> {
    let nix_path = std::env::var("NIX_PATH").unwrap_or_default();
    let cwd = std::env::current_dir().unwrap_or_else(|_| "/".into());
    let mut entries: Vec<kiln_eval::SearchPathEntry> = include
        .iter()
        .map(String::as_str)
        .chain(nix_path.split(':').filter(|e| !e.is_empty()))
        .map(kiln_eval::SearchPathEntry::parse)
        .collect();
    for entry in &mut entries {
        if !entry.path.starts_with('/') && !entry.path.contains("://") {
            entry.path = kiln_syntax::canon_path(&cwd.join(&entry.path).to_string_lossy());
        }
    }
    entries
}

/// A session, an evaluator and the request for the profile commands (`options`, `explain`):
/// the profile argument, else `-I nixos-config=`, else the minimal installer embedded in kiln;
/// evaluated offline with its lock.
pub(crate) fn open_profile(
    profile: Option<&std::path::Path>,
    include: &[String],
) -> miette::Result<(
    kiln_driver::Session,
    kiln_eval::Evaluator,
    kiln_module::Request,
)> {
    let search_path = search_path(include);
    let default = std::path::Path::new(kiln_module::DEFAULT_PROFILE);
    let (source, _) = kiln_module::Source::profile(profile, &search_path, default)
        .map_err(|message| miette::miette!(code = "kiln::cli::two_profiles", "{message}"))?;
    let session = kiln_driver::Session::open(kiln_driver::SessionOptions::for_evaluation(&source))?;
    let ev = session.evaluator(kiln_eval::EvalOptions {
        search_path,
        ..kiln_eval::EvalOptions::default()
    });
    let request = kiln_module::Request {
        source,
        kind: kiln_module::Kind::Profile,
        attr_paths: Vec::new(),
        auto_args: Vec::new(),
        call: kiln_module::Call::Always,
        cwd: std::env::current_dir().unwrap_or_else(|_| "/".into()),
    };
    Ok((session, ev, request))
}

/// A closed stdout or stderr (`kiln eval … | head`) makes `println!` panic, which would exit
/// with 101 as if kiln had a bug. Exit quietly with 141 instead, as a process killed by
/// `SIGPIPE` reports itself to a shell (Rust ignores the signal, so the write fails instead).
fn exit_quietly_on_a_closed_pipe() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("");
        if message.starts_with("failed printing to std") && message.contains("Broken pipe") {
            std::process::exit(141);
        }
        default(info);
    }));
}

fn main() -> ExitCode {
    exit_quietly_on_a_closed_pipe();
    let cli = Cli::parse_from(nix_args::translate(std::env::args_os().collect()));
    report::install(cli.log_format);
    let result = match cli.command {
        Command::Parse(args) => cmd_parse::run(args),
        Command::Eval(args) => cmd_eval::run(args),
        Command::Options(args) => cmd_options::run(args),
        Command::Explain(args) => cmd_explain::run(args),
        Command::Repl(args) => cmd_repl::run(args),
        Command::Build(args) => cmd_build::run(args),
        Command::Lock(args) => cmd_build::run_lock(args),
        Command::Run(args) => cmd_run::run(args),
        Command::Store(args) => cmd_store::run(args),
        Command::Diff(args) => cmd_diff::run(args),
        Command::Completions(args) => cmd_docs::completions(args, Cli::command()),
        Command::Man(args) => cmd_docs::man(args, Cli::command()),
    };
    match result {
        Ok(code) => code,
        Err(report) => {
            eprintln!("{report:?}");
            ExitCode::FAILURE
        }
    }
}
