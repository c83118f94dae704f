//! `kiln parse`: prints an expression the way `nix-instantiate --parse` does, so the two can
//! be diffed; on bad input, a miette report on stderr and exit status 1.

use kiln_syntax::{SourceMap, SyntaxError};
use miette::IntoDiagnostic;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Parse Nix expressions and print them in `nix-instantiate --parse`'s normalized form.
///
/// Relative paths in the text resolve against the file's directory (the current directory
/// for `-E` and stdin), `~` against `$HOME`. Undefined variables outside any `with` are
/// errors, as in Nix.
#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// Files to parse; `-` reads standard input. Each result is printed on its own line.
    #[arg(value_name = "FILE", required_unless_present = "expr")]
    files: Vec<PathBuf>,

    /// Parse this expression instead of a file.
    #[arg(
        short = 'E',
        long = "expr",
        value_name = "EXPR",
        conflicts_with = "files"
    )]
    expr: Option<String>,
}

pub(crate) fn run(args: Args) -> miette::Result<ExitCode> {
    let cwd = std::env::current_dir().into_diagnostic()?;
    let mut sources = SourceMap::new();
    let mut stdout = std::io::stdout().lock();
    let inputs: Vec<Input> = match args.expr {
        Some(expr) => vec![Input::Expr(expr)],
        None => args.files.into_iter().map(Input::File).collect(),
    };
    for input in inputs {
        let printed = parse_one(&mut sources, &cwd, input)?;
        writeln!(stdout, "{printed}").into_diagnostic()?;
    }
    stdout.flush().into_diagnostic()?;
    Ok(ExitCode::SUCCESS)
}

enum Input {
    Expr(String),
    File(PathBuf),
}

fn parse_one(sources: &mut SourceMap, cwd: &Path, input: Input) -> miette::Result<String> {
    let file = match input {
        Input::Expr(text) => sources.add_virtual("«string»", cwd, text),
        Input::File(path) if path.as_os_str() == "-" => {
            let mut bytes = Vec::new();
            std::io::stdin().read_to_end(&mut bytes).into_diagnostic()?;
            let text = decode(bytes);
            sources.add_virtual("(stdin)", cwd, text)
        }
        Input::File(path) => {
            let resolved = resolve_expr_path(&cwd.join(&path));
            let bytes = std::fs::read(&resolved)
                .into_diagnostic()
                .map_err(|err| err.wrap_err(format!("cannot read `{}`", path.display())))?;
            let text = decode(bytes);
            sources.add_file(&resolved, text)
        }
    };
    let expr = kiln_syntax::parse(sources, file).map_err(report)?;
    kiln_syntax::check_scopes(sources, &expr).map_err(report)?;
    Ok(kiln_syntax::print_expr(&expr))
}

/// A file's bytes as text. nix reads a file with invalid UTF-8 without complaint (its strings
/// are bytes), and so does `kiln eval`; `kiln parse` does the same. kiln's strings are UTF-8,
/// so an invalid byte becomes U+FFFD in both, where nix keeps the byte (a documented
/// difference).
fn decode(bytes: Vec<u8>) -> String {
    match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(err) => String::from_utf8_lossy(err.as_bytes()).into_owned(),
    }
}

fn report(err: SyntaxError) -> miette::Report {
    miette::Report::new(err)
}

/// Nix's `resolveExprPath`: a lexically absolute path, with symlinks to the file itself
/// followed and a directory meaning its `default.nix`.
fn resolve_expr_path(path: &Path) -> PathBuf {
    let mut path = lexical_absolute(path);
    for _ in 0..64 {
        match std::fs::read_link(&path) {
            Ok(target) => {
                let dir = path
                    .parent()
                    .map(Path::to_path_buf)
                    .unwrap_or_else(|| PathBuf::from("/"));
                path = lexical_absolute(&dir.join(target));
            }
            Err(_) => break,
        }
    }
    if path.is_dir() {
        path.push("default.nix");
    }
    path
}

fn lexical_absolute(path: &Path) -> PathBuf {
    let mut out = PathBuf::from("/");
    for component in path.components() {
        match component {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::Normal(part) => out.push(part),
            _ => {}
        }
    }
    out
}
