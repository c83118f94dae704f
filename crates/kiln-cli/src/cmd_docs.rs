//! `kiln completions SHELL` and `kiln man [COMMAND]`: a shell's completion script and the
//! manual page, both made from the same clap definition as the command line itself (so they
//! cannot drift from it), printed to stdout. kiln installs neither; the README says where they go.

use std::io::Write as _;
use std::process::ExitCode;

/// Print a shell completion script for kiln to stdout (bash, zsh, fish, elvish, powershell).
#[derive(clap::Args)]
pub(crate) struct CompletionsArgs {
    shell: clap_complete::Shell,
}

/// Print kiln's manual page (roff, for `man -l -`) to stdout: kiln(1), or one command's page.
#[derive(clap::Args)]
pub(crate) struct ManArgs {
    /// A command (`build`, `diff`, ...), for its own page, `kiln-COMMAND(1)`.
    command: Option<String>,
}

pub(crate) fn completions(
    args: CompletionsArgs,
    mut cmd: clap::Command,
) -> miette::Result<ExitCode> {
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, "kiln", &mut script);
    print(&script)
}

pub(crate) fn man(args: ManArgs, cmd: clap::Command) -> miette::Result<ExitCode> {
    let page = match &args.command {
        None => cmd,
        Some(name) => {
            let Some(sub) = cmd.find_subcommand(name) else {
                let names: Vec<String> = cmd
                    .get_subcommands()
                    .map(|c| c.get_name().to_string())
                    .collect();
                return Err(miette::miette!(
                    code = "kiln::cli::no_such_command",
                    help = format!("kiln's commands: {}", names.join(", ")),
                    "kiln has no command `{name}`"
                ));
            };
            sub.clone().name(format!("kiln-{name}"))
        }
    };
    let mut roff = Vec::new();
    clap_mangen::Man::new(page)
        .render(&mut roff)
        .map_err(|e| miette::miette!(code = "kiln::cli::io", "cannot render the manual: {e}"))?;
    print(&roff)
}

fn print(bytes: &[u8]) -> miette::Result<ExitCode> {
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(bytes).and_then(|()| stdout.flush()) {
        Ok(()) => Ok(ExitCode::SUCCESS),
        // A closed pipe (`kiln man | head`) ends kiln quietly, as elsewhere.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(ExitCode::from(141)),
        Err(e) => Err(miette::miette!(
            code = "kiln::cli::io",
            "cannot write to stdout: {e}"
        )),
    }
}
