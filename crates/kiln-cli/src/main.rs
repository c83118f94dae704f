//! The `kiln` binary: argument parsing and reporting only; the work lives in the library crates.

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[global_allocator]
static GLOBAL: alloc::MiMalloc = alloc::MiMalloc;

mod alloc;
mod cmd_eval;
mod cmd_explain;
mod cmd_options;
mod cmd_parse;
mod cmd_repl;
mod cmd_store;
mod repl;

/// kiln builds bootable live ISO images from declarative profiles written in the Nix language.
#[derive(Parser)]
#[command(name = "kiln", version, about)]
struct Cli {
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
    /// Look after the local store: list, verify, collect garbage.
    Store(cmd_store::Args),
}

/// Evaluator settings for the profile commands: `NIX_PATH` like `kiln eval`, the current time.
pub(crate) fn eval_options() -> kiln_eval::EvalOptions {
    let search_path = std::env::var("NIX_PATH")
        .map(|p| {
            p.split(':')
                .filter(|e| !e.is_empty())
                .map(kiln_eval::SearchPathEntry::parse)
                .collect()
        })
        .unwrap_or_default();
    kiln_eval::EvalOptions {
        search_path,
        ..kiln_eval::EvalOptions::default()
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Parse(args) => cmd_parse::run(args),
        Command::Eval(args) => cmd_eval::run(args),
        Command::Options(args) => cmd_options::run(args),
        Command::Explain(args) => cmd_explain::run(args),
        Command::Repl(args) => cmd_repl::run(args),
        Command::Store(args) => cmd_store::run(args),
    };
    match result {
        Ok(code) => code,
        Err(report) => {
            eprintln!("{report:?}");
            ExitCode::FAILURE
        }
    }
}
