//! `kiln build` and `kiln lock`: evaluate a profile with Debian's packages, realise what an
//! attribute names, leave a `result` link. The work is kiln-driver's; this file picks the
//! profile, shows progress and reports.

use crate::progress::Progress;
use kiln_driver::{DriverError, Session, SessionOptions};
use kiln_eval::{EvalOptions, Evaluator};
use kiln_store::RealiseOptions;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

/// The profile a bare `kiln build` builds, relative to a kiln checkout.
const DEFAULT_PROFILE: &str = "profiles/installer/cd-dvd/installation-cd-minimal.nix";
/// What a bare `kiln build` realises.
const DEFAULT_ATTR: &str = "config.system.build.isoImage";

/// Build a profile's ISO image (or any derivation-valued attribute with `-A`), leaving a
/// `result` link to it.
#[derive(clap::Args)]
pub(crate) struct Args {
    /// The profile (a NixOS-style module file). Default: the minimal installer,
    /// `profiles/installer/cd-dvd/installation-cd-minimal.nix`.
    profile: Option<PathBuf>,
    /// The attribute to build, a path into `{ config; options; }`.
    #[arg(short = 'A', long = "attr", default_value = DEFAULT_ATTR)]
    attr: String,
    /// Add a search path entry (`name=path` or `path`), as `nix-build -I`.
    #[arg(short = 'I', value_name = "PATH")]
    include: Vec<String>,
    /// The name of the result link.
    #[arg(short = 'o', long = "out-link", default_value = "result")]
    out_link: PathBuf,
    /// Do not create a result link.
    #[arg(long)]
    no_link: bool,
    /// Show what would be fetched and built, with sizes, and stop.
    #[arg(long)]
    dry_run: bool,
    /// Steps to run at once (default: one per core).
    #[arg(short = 'j', long, value_name = "N")]
    jobs: Option<usize>,
    /// Use only what the store holds; fail naming what is missing.
    #[arg(long)]
    offline: bool,
    /// Fail instead of adding packages the lock lacks.
    #[arg(long)]
    locked: bool,
    /// Build the target again and check that the bytes equal the store's (reproducibility).
    #[arg(long)]
    check: bool,
    /// The store (default: `$KILN_STORE`, else `~/.cache/kiln/store`).
    #[arg(long, value_name = "DIR")]
    store: Option<PathBuf>,
}

/// Pin the Debian packages a profile uses in its `kiln.lock`.
#[derive(clap::Args)]
pub(crate) struct LockArgs {
    /// The profile (default as for `kiln build`).
    profile: Option<PathBuf>,
    /// The attribute whose packages to pin.
    #[arg(short = 'A', long = "attr", default_value = DEFAULT_ATTR)]
    attr: String,
    /// Re-pin every package to the archive's current version.
    #[arg(long)]
    update: bool,
    /// The store (default: `$KILN_STORE`, else `~/.cache/kiln/store`).
    #[arg(long, value_name = "DIR")]
    store: Option<PathBuf>,
}

fn default_profile() -> PathBuf {
    if Path::new(DEFAULT_PROFILE).exists() {
        PathBuf::from(DEFAULT_PROFILE)
    } else {
        PathBuf::from(kiln_module::DEFAULT_PROFILE)
    }
}

fn open(
    profile: &Path,
    store: Option<PathBuf>,
    include: &[String],
    offline: bool,
    locked: bool,
) -> miette::Result<(Session, Evaluator)> {
    let mut options = SessionOptions::for_profile(profile);
    if profile.starts_with(kiln_module::LIB_ROOT) {
        options.lock_path = PathBuf::from("kiln.lock");
    }
    if let Some(store) = store {
        options.store = store;
    }
    options.archive.offline = offline;
    options.locked = locked;
    let session = Session::open(options)?;
    let ev = session.evaluator(EvalOptions {
        search_path: crate::search_path(include),
        ..EvalOptions::default()
    });
    Ok((session, ev))
}

/// Renders a driver error; evaluation errors need the session's sources.
fn report(ev: &Evaluator, err: DriverError) -> miette::Report {
    match err {
        DriverError::Eval(err) => {
            kiln_module::report(ev, &err, Some(kiln_eval::DEFAULT_TRACE_FRAMES))
        }
        other => miette::Report::new(other),
    }
}

/// Evaluates `attr` of the profile and returns the derivations it names.
fn evaluate(
    session: &Session,
    ev: &mut Evaluator,
    profile: &Path,
    attr: &str,
) -> Result<Vec<kiln_store::DrvId>, DriverError> {
    let result = session.eval_profile(ev, profile)?;
    for warning in session.check_assertions(ev, &result)? {
        eprintln!("warning: {warning}");
    }
    let value = kiln_driver::select(ev, &result, attr)?;
    Ok(session.targets(ev, &value)?)
}

fn say_lock_changes(session: &Session) -> miette::Result<()> {
    let changes = session.save_lock()?;
    if !changes.is_empty() {
        const SHOWN: usize = 8;
        let mut names: Vec<String> = changes
            .iter()
            .take(SHOWN)
            .map(|c| format!("{} {}", c.name, c.new.as_deref().unwrap_or("(removed)")))
            .collect();
        if changes.len() > SHOWN {
            names.push(format!("and {} more", changes.len() - SHOWN));
        }
        eprintln!(
            "kiln.lock: pinned {} package(s): {}",
            changes.len(),
            names.join(", ")
        );
    }
    Ok(())
}

pub(crate) fn run(args: Args) -> miette::Result<ExitCode> {
    let start = Instant::now();
    let profile = args.profile.unwrap_or_else(default_profile);
    let (session, mut ev) = open(
        &profile,
        args.store,
        &args.include,
        args.offline,
        args.locked,
    )?;
    let targets = match evaluate(&session, &mut ev, &profile, &args.attr) {
        Ok(targets) => targets,
        Err(err) => return Err(report(&ev, err)),
    };
    say_lock_changes(&session)?;
    let plan = session.plan(&targets)?;
    if args.dry_run {
        print_plan(&plan);
        return Ok(ExitCode::SUCCESS);
    }
    if args.check {
        let progress = Progress::new(targets.len());
        let verdicts = session.check(&targets, &progress);
        progress.finish();
        let mut same = true;
        for (name, equal, took) in verdicts? {
            let took = took.as_secs_f64();
            if equal {
                eprintln!("{name}: reproducible (rebuilt in {took:.3} s, the same bytes)");
            } else {
                eprintln!("{name}: NOT reproducible (rebuilt in {took:.3} s, the bytes differ from the store's entry)");
                same = false;
            }
        }
        return Ok(if same {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        });
    }
    let options = RealiseOptions {
        jobs: args.jobs.unwrap_or(0),
        offline: args.offline,
    };
    let progress = Progress::new(plan.missing.len());
    let paths = session.realise(&targets, &options, &progress);
    let summary = progress.finish();
    let paths = paths?;
    if !args.no_link {
        for (i, path) in paths.iter().enumerate() {
            let link = if i == 0 {
                args.out_link.clone()
            } else {
                PathBuf::from(format!("{}-{i}", args.out_link.display()))
            };
            session.link_result(path, &link)?;
        }
    }
    for path in &paths {
        println!("{}", path.display());
    }
    if plan.missing.is_empty() {
        eprintln!(
            "nothing to build: everything is in the store ({:.0?})",
            start.elapsed()
        );
    } else {
        eprintln!("{summary} in {:.1?}", start.elapsed());
    }
    Ok(ExitCode::SUCCESS)
}

fn print_plan(plan: &kiln_driver::Plan) {
    let download: u64 = plan.missing.iter().filter_map(|s| s.download).sum();
    let fetches = plan.missing.iter().filter(|s| s.download.is_some()).count();
    println!(
        "closure: {} Debian package(s), {} of .debs, {} installed",
        plan.packages,
        human_bytes(plan.download),
        plan.installed
            .map_or_else(|| "unknown (run `kiln lock`)".to_string(), human_bytes)
    );
    println!(
        "would fetch {fetches} package(s) ({}) and run {} other step(s); {} step(s) are in the store",
        human_bytes(download),
        plan.missing.len() - fetches,
        plan.present.len()
    );
    for step in &plan.missing {
        match step.download {
            Some(bytes) => println!("  fetch  {:<60} {}", step.name, human_bytes(bytes)),
            None => println!("  {:<6} {}", step.builder, step.name),
        }
    }
}

pub(crate) fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["B", "KiB", "MiB", "GiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

pub(crate) fn run_lock(args: LockArgs) -> miette::Result<ExitCode> {
    let profile = args.profile.unwrap_or_else(default_profile);
    let (session, mut ev) = open(&profile, args.store, &[], false, false)?;
    if args.update {
        let changes = session.update_lock()?;
        // A pin whose metadata was refreshed but whose version stayed is no news.
        let moved: Vec<_> = changes.iter().filter(|c| c.old != c.new).collect();
        for change in &moved {
            eprintln!(
                "{}: {} -> {}",
                change.name,
                change.old.as_deref().unwrap_or("(new)"),
                change.new.as_deref().unwrap_or("(removed)")
            );
        }
        eprintln!("kiln.lock: {} package(s) changed version", moved.len());
    }
    if let Err(err) = evaluate(&session, &mut ev, &profile, &args.attr) {
        return Err(report(&ev, err));
    }
    say_lock_changes(&session)?;
    Ok(ExitCode::SUCCESS)
}
