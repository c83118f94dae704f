//! `kiln build` and `kiln lock`: evaluate a profile with Debian's packages, realise what an
//! attribute names, leave a `result` link. The work is kiln-driver's; this file picks the
//! profile, shows progress and reports.

use crate::progress::{human_bytes, Progress};
use kiln_driver::{DriverError, Session, SessionOptions};
use kiln_eval::{EvalOptions, Evaluator};
use kiln_module::{Request, Source};
use kiln_store::RealiseOptions;
use miette::IntoDiagnostic;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

/// The profile a bare `kiln build` builds, relative to a kiln checkout.
const DEFAULT_PROFILE: &str = "profiles/installer/cd-dvd/installation-cd-minimal.nix";
/// What a bare `kiln build` realises.
pub(crate) const DEFAULT_ATTR: &str = "config.system.build.isoImage";

/// Build a profile's ISO image (or any derivation-valued attribute with `-A`), leaving a
/// `result` link to it.
#[derive(clap::Args)]
pub(crate) struct Args {
    /// The profile (a NixOS-style module file), or any Nix file whose `-A` is a derivation.
    /// Default: `-I nixos-config=PATH` if given, else the minimal installer,
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
    /// Show what would be fetched, built and pinned, with sizes, and stop; writes nothing
    /// (no lock, no link, nothing in the store).
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
    /// Build the target again and compare its bytes with the store's entry (reproducibility);
    /// the first differing file and offset are reported.
    #[arg(long, conflicts_with = "repair")]
    check: bool,
    /// Re-hash every store entry the target needs, and build the damaged ones again.
    #[arg(long, conflicts_with = "dry_run")]
    repair: bool,
    /// The store (default: `$KILN_STORE`, else `~/.cache/kiln/store`).
    #[arg(long, value_name = "DIR")]
    store: Option<PathBuf>,
    #[command(flatten)]
    cache: CacheArgs,
}

/// Binary caches: where to fetch finished steps from, whom to trust, where to push.
#[derive(clap::Args, Default)]
pub(crate) struct CacheArgs {
    /// Caches to try before building each step, separated by spaces
    /// (`s3://BUCKET?endpoint=URL&region=REGION`, `file:///DIR`); default `$KILN_SUBSTITUTERS`,
    /// else `substituters` in `~/.config/kiln/config.toml`.
    #[arg(long, value_name = "URLS")]
    substituters: Option<String>,
    /// Public keys (`NAME:BASE64`, separated by spaces) whose signatures make a cached entry
    /// acceptable; default `$KILN_TRUSTED_PUBLIC_KEYS`, else `trusted-public-keys` in the
    /// config file. Without one, no cached entry is taken.
    #[arg(long, value_name = "KEYS")]
    trusted_public_keys: Option<String>,
    /// After the build, push the result and everything it needs to a cache (`--push-to`, else
    /// `push-to` in the config file, else the first substituter).
    #[arg(long)]
    push: bool,
    /// The cache `--push` uploads to.
    #[arg(long, value_name = "URL", requires = "push")]
    push_to: Option<String>,
    /// The secret key `--push` signs with (`kiln store keygen` makes one); default
    /// `$KILN_SECRET_KEY_FILE`, else `secret-key-file` in the config file.
    #[arg(long, value_name = "FILE", requires = "push")]
    secret_key: Option<PathBuf>,
}

impl CacheArgs {
    fn settings(&self) -> miette::Result<kiln_cache::Settings> {
        Ok(kiln_cache::Settings::load(kiln_cache::Flags {
            substituters: self.substituters.clone(),
            trusted_public_keys: self.trusted_public_keys.clone(),
            secret_key_file: self.secret_key.clone(),
            push_to: self.push_to.clone(),
        })?)
    }
}

/// The substituters a build uses: none offline, and none without trusted keys (with a note,
/// since nothing they hold could be accepted).
fn substituter(
    session: &Session,
    settings: &kiln_cache::Settings,
    offline: bool,
) -> miette::Result<Option<std::sync::Arc<dyn kiln_store::Substituter>>> {
    if offline || settings.substituters.is_empty() {
        return Ok(None);
    }
    if settings.trusted.is_empty() {
        eprintln!("warning: substituters are set but no trusted public keys, so no cached entry can be accepted; building locally");
        return Ok(None);
    }
    let caches = kiln_cache::Caches::open(
        session.store(),
        &settings.substituters,
        settings.trusted.clone(),
    )?;
    Ok(Some(std::sync::Arc::new(caches)))
}

/// `--push`: the targets' closures to the push cache.
fn push_targets(
    session: &Session,
    paths: &[PathBuf],
    settings: &kiln_cache::Settings,
) -> miette::Result<()> {
    let url = settings
        .push_to
        .clone()
        .or_else(|| settings.substituters.first().cloned())
        .ok_or_else(|| {
            miette::miette!(
                code = "kiln::cli::no_push_cache",
                help =
                    "give `--push-to URL`, or set `push-to` or `substituters` in the config file",
                "`--push` has no cache to push to"
            )
        })?;
    let key_file = settings.secret_key_file.clone().ok_or_else(|| {
        miette::miette!(
            code = "kiln::cli::no_secret_key",
            help = "give `--secret-key FILE` (`kiln store keygen` makes one), or set `KILN_SECRET_KEY_FILE` or `secret-key-file`",
            "`--push` has no key to sign with"
        )
    })?;
    let key = kiln_cache::SecretKey::read(&key_file)?;
    let store = session.store();
    let roots: Vec<_> = paths.iter().filter_map(|p| store.entry_of(p)).collect();
    let start = Instant::now();
    let report = kiln_cache::push(store, &roots, &url, &key, &|line| eprintln!("{line}"))?;
    eprintln!(
        "pushed {} entries ({}) to {url}, {} already there, in {:.1?}",
        report.uploaded,
        human_bytes(report.bytes),
        report.present,
        start.elapsed()
    );
    Ok(())
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

/// The profile a bare `kiln build` builds: the checkout's, else the one embedded in kiln.
fn default_profile() -> PathBuf {
    if Path::new(DEFAULT_PROFILE).exists() {
        PathBuf::from(DEFAULT_PROFILE)
    } else {
        PathBuf::from(kiln_module::DEFAULT_PROFILE)
    }
}

/// A session and an evaluator for what the command line names.
struct Opened {
    session: Session,
    ev: Evaluator,
    request: Request,
}

/// How to open a session: the flags `build` and `lock` share.
struct OpenFlags {
    offline: bool,
    locked: bool,
    dry_run: bool,
}

fn open(
    profile: Option<&Path>,
    attrs: &[&str],
    store: Option<PathBuf>,
    include: &[String],
    flags: OpenFlags,
) -> miette::Result<Opened> {
    let search_path = crate::search_path(include);
    let (source, kind) = Source::profile(profile, &search_path, &default_profile())
        .map_err(|message| miette::miette!(code = "kiln::cli::two_profiles", "{message}"))?;
    let mut options = SessionOptions::for_build(&source);
    if let Some(store) = store {
        options.store = store;
    }
    options.archive.offline = flags.offline;
    options.locked |= flags.locked;
    options.dry_run = flags.dry_run;
    let session = Session::open(options)?;
    let ev = session.evaluator(EvalOptions {
        search_path,
        ..EvalOptions::default()
    });
    let request = Request {
        source,
        kind,
        attr_paths: attrs.iter().map(|attr| attr.to_string()).collect(),
        auto_args: Vec::new(),
        call: kiln_module::Call::Always,
        cwd: std::env::current_dir().into_diagnostic()?,
    };
    Ok(Opened {
        session,
        ev,
        request,
    })
}

/// Renders a driver error; evaluation errors need the session's sources.
fn report(opened: &Opened, err: DriverError) -> miette::Report {
    match err {
        DriverError::Eval(err) => kiln_module::report(
            &opened.ev,
            &opened.session.annotate(err),
            Some(kiln_eval::DEFAULT_TRACE_FRAMES),
        ),
        other => miette::Report::new(other),
    }
}

/// Evaluates the request and returns the derivations it names, after a profile's assertions.
fn evaluate(opened: &mut Opened) -> Result<Vec<kiln_store::DrvId>, DriverError> {
    let Opened {
        session,
        ev,
        request,
    } = opened;
    let evaluated = session.evaluate(ev, request)?;
    if evaluated.profile {
        for warning in session.check_assertions(ev, &evaluated.root)? {
            eprintln!("warning: {warning}");
        }
    }
    let mut targets = Vec::new();
    for value in &evaluated.selected {
        targets.extend(session.targets(ev, value)?);
    }
    Ok(targets)
}

fn say_lock_changes(session: &Session, dry_run: bool) -> miette::Result<()> {
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
        let verb = if dry_run { "would pin" } else { "pinned" };
        eprintln!(
            "kiln.lock: {verb} {} package(s): {}",
            changes.len(),
            names.join(", ")
        );
    }
    Ok(())
}

pub(crate) fn run(args: Args) -> miette::Result<ExitCode> {
    let start = Instant::now();
    let mut opened = open(
        args.profile.as_deref(),
        &[&args.attr],
        args.store,
        &args.include,
        OpenFlags {
            offline: args.offline,
            locked: args.locked,
            dry_run: args.dry_run,
        },
    )?;
    let targets = match evaluate(&mut opened) {
        Ok(targets) => targets,
        Err(err) => return Err(report(&opened, err)),
    };
    let session = &opened.session;
    say_lock_changes(session, args.dry_run)?;
    if args.repair {
        for damage in session.repair(&targets)? {
            eprintln!(
                "damaged: {}: {} (removed; building it again)",
                damage.entry, damage.problem
            );
        }
    }
    let plan = session.plan(&targets)?;
    if args.dry_run {
        print_plan(&plan);
        return Ok(ExitCode::SUCCESS);
    }
    if args.check {
        return check(session, &targets);
    }
    let settings = args.cache.settings()?;
    let substituter = substituter(session, &settings, args.offline)?;
    let paths = realise(
        session,
        &targets,
        &plan,
        args.jobs,
        args.offline,
        substituter,
        start,
    )?;
    if args.cache.push {
        push_targets(session, &paths, &settings)?;
    }
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
    Ok(ExitCode::SUCCESS)
}

/// Realises the targets with progress on stderr, then says what was built and how long it took.
fn realise(
    session: &Session,
    targets: &[kiln_store::DrvId],
    plan: &kiln_driver::Plan,
    jobs: Option<usize>,
    offline: bool,
    substituter: Option<std::sync::Arc<dyn kiln_store::Substituter>>,
    start: Instant,
) -> miette::Result<Vec<PathBuf>> {
    let options = RealiseOptions {
        jobs: jobs.unwrap_or(0),
        offline,
        substituter,
    };
    let progress = Progress::new(plan.missing.len());
    let paths = session.realise(targets, &options, &progress);
    let summary = progress.finish();
    let paths = paths?;
    if plan.missing.is_empty() {
        eprintln!(
            "nothing to build: everything is in the store ({:.0?})",
            start.elapsed()
        );
    } else {
        eprintln!("{summary} in {:.1?}", start.elapsed());
    }
    Ok(paths)
}

/// What `kiln run` and `kiln diff` build: attributes of a profile, realised as `kiln build
/// -A ATTR --no-link` would.
pub(crate) struct BuildAttrs<'a> {
    /// The profile; `None` for `kiln build`'s default.
    pub(crate) profile: Option<&'a Path>,
    pub(crate) attrs: &'a [&'a str],
    pub(crate) include: &'a [String],
    pub(crate) store: Option<PathBuf>,
    pub(crate) offline: bool,
    pub(crate) locked: bool,
}

/// Evaluates and realises the attributes (progress on stderr, no result link) and gives their
/// output paths, in order, to `read` while the session is open: its temporary GC roots keep
/// them in the store for as long as `read` uses them (`kiln run`'s QEMU).
pub(crate) fn build_attrs<T>(
    request: BuildAttrs<'_>,
    read: impl FnOnce(&[PathBuf]) -> miette::Result<T>,
) -> miette::Result<T> {
    let start = Instant::now();
    let mut opened = open(
        request.profile,
        request.attrs,
        request.store,
        request.include,
        OpenFlags {
            offline: request.offline,
            locked: request.locked,
            dry_run: false,
        },
    )?;
    let targets = match evaluate(&mut opened) {
        Ok(targets) => targets,
        Err(err) => return Err(report(&opened, err)),
    };
    let session = &opened.session;
    say_lock_changes(session, false)?;
    let plan = session.plan(&targets)?;
    let settings = CacheArgs::default().settings()?;
    let substituter = substituter(session, &settings, request.offline)?;
    let paths = realise(
        session,
        &targets,
        &plan,
        None,
        request.offline,
        substituter,
        start,
    )?;
    if paths.len() != request.attrs.len() {
        return Err(miette::miette!(
            code = "kiln::cli::not_a_derivation",
            "`{}` gave {} derivation(s), not one each",
            request.attrs.join("`, `"),
            paths.len()
        ));
    }
    read(&paths)
}

/// `--check`: rebuild and compare; exit 1 if any target's bytes differ.
fn check(session: &Session, targets: &[kiln_store::DrvId]) -> miette::Result<ExitCode> {
    let progress = Progress::new(targets.len());
    let verdicts = session.check(targets, &progress);
    progress.finish();
    let mut same = true;
    for verdict in verdicts? {
        let took = verdict.took.as_secs_f64();
        let name = &verdict.name;
        match verdict.difference {
            None => eprintln!("{name}: reproducible (rebuilt in {took:.3} s, the same bytes)"),
            Some(found) if found.entry_damaged => {
                same = false;
                eprintln!(
                    "{name}: the store's entry is DAMAGED (rebuilt in {took:.3} s; the rebuild matches its record, the entry on disk does not): {}",
                    found.difference
                );
                eprintln!("  `kiln build --repair` replaces it");
            }
            Some(found) => {
                same = false;
                eprintln!(
                    "{name}: NOT reproducible (rebuilt in {took:.3} s): {}",
                    found.difference
                );
            }
        }
    }
    Ok(if same {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
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

pub(crate) fn run_lock(args: LockArgs) -> miette::Result<ExitCode> {
    let mut opened = open(
        args.profile.as_deref(),
        &[&args.attr],
        args.store,
        &[],
        OpenFlags {
            offline: false,
            locked: false,
            dry_run: false,
        },
    )?;
    let session = &opened.session;
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
    if let Err(err) = evaluate(&mut opened) {
        return Err(report(&opened, err));
    }
    say_lock_changes(&opened.session, false)?;
    Ok(ExitCode::SUCCESS)
}
