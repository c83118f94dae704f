//! The `kiln` binary: argument parsing and reporting only; the work lives in the library crates.

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[global_allocator]
static GLOBAL: alloc::MiMalloc = alloc::MiMalloc;

mod alloc;
mod cmd_eval;
mod cmd_parse;

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
    /// Evaluate a Nix expression and print it as `nix-instantiate --eval` does.
    Eval(cmd_eval::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Parse(args) => cmd_parse::run(args),
        Command::Eval(args) => cmd_eval::run(args),
    };
    match result {
        Ok(code) => code,
        Err(report) => {
            eprintln!("{report:?}");
            ExitCode::FAILURE
        }
    }
}
