//! `kiln repl`: an interactive session for exploring expressions and profiles, like
//! `nix repl` 2.8. The session lives in [`crate::repl`]; this file reads the arguments.

use crate::repl::{terminal, Session, SessionOptions};
use miette::IntoDiagnostic;
use std::io::IsTerminal;
use std::process::ExitCode;

#[derive(clap::Args)]
pub(crate) struct Args {
    /// Add a search path entry (`name=path` or `path`) for `<name>`.
    #[arg(short = 'I', long = "include")]
    include: Vec<String>,
    /// Show every frame of an error's trace.
    #[arg(long)]
    show_trace: bool,
    /// Files to load: a profile (a module: a function of `config`, `pkgs`, … or a set with
    /// `imports`) brings `config`, `options`, `lib` and `pkgs` into scope, its packages pinned
    /// by the first file's `kiln.lock`; any other file's set brings its attributes.
    #[arg(value_name = "FILE | PROFILE")]
    files: Vec<String>,
}

pub(crate) fn run(args: Args) -> miette::Result<ExitCode> {
    let search_path = crate::search_path(&args.include);
    let color = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let options = SessionOptions {
        search_path,
        color,
        show_trace: args.show_trace,
        store: None,
        lock_from: args.files.first().map(std::path::PathBuf::from),
    };
    let cwd = std::env::current_dir().into_diagnostic()?;
    let mut session = Session::new(options, cwd)?;
    println!("Welcome to kiln repl. Type :? for help.\n");
    for file in &args.files {
        let mut out = String::new();
        let result = session.load(file, &mut out);
        print!("{out}");
        if let Err(report) = result {
            eprintln!("{}", format!("{report:?}").trim_end());
        }
    }
    if !args.files.is_empty() {
        println!();
    }
    terminal::run(session, color)?;
    Ok(ExitCode::SUCCESS)
}
