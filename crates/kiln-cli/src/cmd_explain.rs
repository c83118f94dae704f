//! `kiln explain`: why an option of a profile has its value. The work is `kiln_module::explain`;
//! this file only picks the profile and prints.

use miette::IntoDiagnostic;
use std::path::PathBuf;
use std::process::ExitCode;

/// Show an option's final value, every definition of it (file:line, priority, mkIf state, whether
/// it took part) and why the winner won.
#[derive(clap::Args)]
pub(crate) struct Args {
    /// The option, e.g. `boot.kernelModules`; one attribute of an attribute-set option too, e.g.
    /// `fileSystems."/"` or `fileSystems./iso`.
    option: String,
    /// The profile (default: `-I nixos-config=PATH` if given, else the minimal installer
    /// profile embedded in kiln).
    profile: Option<PathBuf>,
    /// Add a search path entry (`name=path` or `path`), e.g. `nixos-config=PROFILE`.
    #[arg(short = 'I', long = "include")]
    include: Vec<String>,
}

pub(crate) fn run(args: Args) -> miette::Result<ExitCode> {
    let (session, mut ev, request) = crate::open_profile(args.profile.as_deref(), &args.include)?;
    let explained = session
        .evaluate(&mut ev, &request)
        .and_then(|evaluated| kiln_module::explain(&mut ev, &evaluated.root, &args.option));
    match explained {
        Ok(explanation) => {
            use std::io::Write;
            std::io::stdout()
                .write_all(explanation.to_string().as_bytes())
                .into_diagnostic()?;
            Ok(ExitCode::SUCCESS)
        }
        Err(err) => Err(kiln_module::report(
            &ev,
            &err,
            Some(kiln_eval::DEFAULT_TRACE_FRAMES),
        )),
    }
}
