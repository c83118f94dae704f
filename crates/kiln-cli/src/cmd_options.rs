//! `kiln options`: the options a profile can set, with type, default and description. The listing
//! itself is `kiln_module::options_list`; this file only picks the profile and prints.

use miette::IntoDiagnostic;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// List the declared options (name, type, default, description), sorted by name.
///
/// A single argument ending in `.nix` or containing `/` is taken as the PROFILE; without one, the
/// options of the minimal installer profile (embedded in kiln) are listed.
#[derive(clap::Args)]
pub(crate) struct Args {
    /// Only options at or below this name (`boot`, `isoImage.volumeID`).
    prefix: Option<String>,
    /// The profile whose options to list (default: the minimal installer profile).
    profile: Option<PathBuf>,
    /// Print a JSON array instead of text.
    #[arg(long)]
    json: bool,
    /// Include internal options (those NixOS hides from its manual).
    #[arg(long)]
    internal: bool,
    /// Add a search path entry (`name=path` or `path`), e.g. `nixos-config=PROFILE`.
    #[arg(short = 'I', long = "include")]
    include: Vec<String>,
}

pub(crate) fn run(args: Args) -> miette::Result<ExitCode> {
    let (prefix, profile) = split_prefix_and_profile(args.prefix, args.profile);
    let (session, mut ev, request) = crate::open_profile(profile.as_deref(), &args.include)?;
    let listed = session
        .evaluate(&mut ev, &request)
        .and_then(|evaluated| kiln_module::options_list(&mut ev, &evaluated.root));
    let options = match listed {
        Ok(options) => options,
        Err(err) => {
            return Err(kiln_module::report(
                &ev,
                &err,
                Some(kiln_eval::DEFAULT_TRACE_FRAMES),
            ))
        }
    };
    let shown: Vec<kiln_module::OptionInfo> = options
        .into_iter()
        .filter(|o| args.internal || !o.internal)
        .filter(|o| kiln_module::option_has_prefix(&o.name, prefix.as_deref().unwrap_or("")))
        .collect();
    if shown.is_empty() {
        if let Some(prefix) = &prefix {
            return Err(miette::miette!(
                code = "kiln::cli::no_such_option",
                help = "`kiln options` without a prefix lists every option",
                "no declared option is named `{prefix}` or lies below it"
            ));
        }
    }
    let mut out = String::new();
    if args.json {
        out.push_str(&kiln_module::options_json(&shown));
        out.push('\n');
    } else {
        for option in &shown {
            render(option, &mut out);
        }
    }
    use std::io::Write;
    std::io::stdout()
        .write_all(out.as_bytes())
        .into_diagnostic()?;
    Ok(ExitCode::SUCCESS)
}

/// `kiln options boot` vs `kiln options my.nix`: one positional that looks like a file is the
/// profile. Returns the prefix and the profile, if one is given.
pub(crate) fn split_prefix_and_profile(
    prefix: Option<String>,
    profile: Option<PathBuf>,
) -> (Option<String>, Option<PathBuf>) {
    match (prefix, profile) {
        (Some(p), None) if looks_like_file(&p) => (None, Some(PathBuf::from(p))),
        (prefix, profile) => (prefix, profile),
    }
}

fn looks_like_file(arg: &str) -> bool {
    arg.ends_with(".nix") || arg.contains('/') || Path::new(arg).is_file()
}

fn render(option: &kiln_module::OptionInfo, out: &mut String) {
    use std::fmt::Write;
    let _ = writeln!(out, "{}", option.name);
    let _ = writeln!(out, "  type: {}", option.type_description);
    if let Some(default) = &option.default {
        let _ = writeln!(out, "  default: {}", default.replace('\n', "\n    "));
    }
    if option.read_only {
        let _ = writeln!(out, "  read-only");
    }
    if let Some(description) = &option.description {
        let _ = writeln!(out, "  {}", description.replace('\n', "\n  "));
    }
    for file in &option.declarations {
        let _ = writeln!(out, "  declared in: {file}");
    }
    out.push('\n');
}
