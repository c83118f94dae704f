//! `kiln store`: look after the local store (list, verify, collect garbage), and share it
//! through binary caches (keygen, push, `ls --remote`).

use kiln_store::Store;
use std::process::ExitCode;

#[derive(clap::Args)]
pub(crate) struct Args {
    /// The store to work on (default: `$KILN_STORE`, else `~/.cache/kiln/store`).
    #[arg(long, global = true, value_name = "DIR")]
    store: Option<std::path::PathBuf>,
    #[command(subcommand)]
    command: StoreCommand,
}

#[derive(clap::Subcommand)]
enum StoreCommand {
    /// List registered entries with their content hash and references; with `--remote`, the
    /// entries a cache holds.
    Ls {
        /// A cache to list instead of the store (`s3://BUCKET?endpoint=…`, `file:///DIR`).
        #[arg(long, value_name = "URL")]
        remote: Option<String>,
    },
    /// Write a new ed25519 key pair for signing what `push` uploads, as
    /// `nix-store --generate-binary-cache-key` does: the secret file (mode 0600) and the public
    /// file, one line `NAME:BASE64`, for consumers' `trusted-public-keys`.
    Keygen {
        /// The key's name, conventionally the cache's host name and a number (`cache.example.org-1`).
        name: String,
        secret_file: std::path::PathBuf,
        public_file: std::path::PathBuf,
    },
    /// Upload store entries, and everything they reference, to a cache, signed.
    Push {
        /// The cache (`s3://BUCKET?endpoint=URL&region=REGION`, `file:///DIR`); default
        /// `push-to` from `$KILN_PUSH_TO` or the config file.
        #[arg(long, value_name = "URL")]
        to: Option<String>,
        /// The secret key to sign with (default `$KILN_SECRET_KEY_FILE`, else `secret-key-file`
        /// in the config file).
        #[arg(long, value_name = "FILE")]
        secret_key: Option<std::path::PathBuf>,
        /// Every registered entry.
        #[arg(long, conflicts_with = "paths")]
        all: bool,
        /// Store paths (or `result` links) to push.
        #[arg(required_unless_present = "all")]
        paths: Vec<std::path::PathBuf>,
    },
    /// Re-hash every entry and report those whose contents, modes, owners or symlink targets
    /// changed.
    Verify {
        /// Remove damaged entries, so the next build (or `kiln build --repair`) re-creates
        /// them, and re-record entries whose records an older kiln wrote.
        #[arg(long)]
        repair: bool,
    },
    /// Remove entries that no `result` link (and nothing they reference) keeps alive, and the
    /// temporaries of builds that are no longer running; says how much it freed.
    Gc,
}

pub(crate) fn run(args: Args) -> miette::Result<ExitCode> {
    // Keys and a cache's listing need no store; opening one would create it, so each of the
    // other commands opens it.
    let root = args.store.unwrap_or_else(Store::default_root);
    let open = || Store::open(&root);
    match args.command {
        StoreCommand::Keygen {
            name,
            secret_file,
            public_file,
        } => {
            let public = kiln_cache::keygen(&name, &secret_file, &public_file)?;
            eprintln!(
                "wrote the secret key to {} and the public key to {}",
                secret_file.display(),
                public_file.display()
            );
            println!("{}", public.to_text());
            Ok(ExitCode::SUCCESS)
        }
        StoreCommand::Ls { remote: Some(url) } => list_remote(&url),
        StoreCommand::Push {
            to,
            secret_key,
            all,
            paths,
        } => {
            let settings = kiln_cache::Settings::load(kiln_cache::Flags {
                secret_key_file: secret_key,
                push_to: to,
                ..kiln_cache::Flags::default()
            })?;
            let store = open()?;
            let url = settings.push_to.ok_or_else(|| {
                miette::miette!(
                    code = "kiln::cli::no_push_cache",
                    help = "give `--to URL`, or set `KILN_PUSH_TO` or `push-to` in the config file",
                    "no cache to push to"
                )
            })?;
            let key_file = settings.secret_key_file.ok_or_else(|| {
                miette::miette!(
                    code = "kiln::cli::no_secret_key",
                    help = "give `--secret-key FILE` (`kiln store keygen` makes one)",
                    "no key to sign with"
                )
            })?;
            let key = kiln_cache::SecretKey::read(&key_file)?;
            let roots = if all {
                store.list()?.into_iter().map(|info| info.entry).collect()
            } else {
                paths
                    .iter()
                    .map(|path| {
                        let resolved = path.canonicalize().unwrap_or_else(|_| path.clone());
                        store
                            .entry_of(&resolved)
                            .filter(|entry| store.contains(entry))
                            .ok_or_else(|| kiln_cache::CacheError::NotInStore {
                                path: path.clone(),
                            })
                    })
                    .collect::<Result<Vec<_>, _>>()?
            };
            let start = std::time::Instant::now();
            let report = kiln_cache::push(&store, &roots, &url, &key, &|line| eprintln!("{line}"))?;
            eprintln!(
                "pushed {} entries ({}), {} already there, in {:.1?}",
                report.uploaded,
                crate::progress::human_bytes(report.bytes),
                report.present,
                start.elapsed()
            );
            Ok(ExitCode::SUCCESS)
        }
        StoreCommand::Ls { remote: None } => {
            let store = open()?;
            for info in store.list()? {
                println!("{}\t{}", store.path(&info.entry).display(), info.content);
                for reference in &info.references {
                    println!("\t-> {reference}");
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        StoreCommand::Verify { repair } => {
            let store = open()?;
            let report = store.verify(repair)?;
            for item in &report.damage {
                let action = if item.removed { " (removed)" } else { "" };
                eprintln!("damaged: {}: {}{action}", item.entry, item.problem);
            }
            if !report.outdated.is_empty() {
                let done = if repair {
                    format!("; {} re-recorded in format 2", report.upgraded)
                } else {
                    "; `--repair` re-records them".to_string()
                };
                eprintln!(
                    "{} entries have records from an older kiln (tree format 1: contents, the executable bit and symlink targets, but no modes or owners), checked as such{done}",
                    report.outdated.len()
                );
            }
            if report.damage.is_empty() {
                eprintln!("{} entries verified, no damage", report.checked);
                Ok(ExitCode::SUCCESS)
            } else {
                eprintln!(
                    "{} of {} entries damaged",
                    report.damage.len(),
                    report.checked
                );
                Ok(if repair && report.damage.iter().all(|d| d.removed) {
                    ExitCode::SUCCESS
                } else {
                    ExitCode::FAILURE
                })
            }
        }
        StoreCommand::Gc => {
            let store = open()?;
            let report = store.gc()?;
            for entry in &report.removed {
                eprintln!("removed {entry}");
            }
            eprintln!(
                "{} entries removed, {} kept; {} temporaries of builds no longer running removed; {} freed",
                report.removed.len(),
                report.kept,
                report.temporaries,
                crate::progress::human_bytes(report.freed)
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// `kiln store ls --remote URL`: every manifest in the cache (signatures not checked: listing
/// trusts nothing, it only shows).
fn list_remote(url: &str) -> miette::Result<ExitCode> {
    let listing = kiln_cache::list_remote(url)?;
    for item in &listing.entries {
        let m = &item.manifest;
        println!(
            "{}\t{}\t{}\tsigned by {}\tbuilt by {}",
            m.entry,
            m.class.as_str(),
            crate::progress::human_bytes(m.archive_size),
            item.signer.as_deref().unwrap_or("nobody"),
            m.built_by
        );
    }
    for (name, why) in &listing.unreadable {
        eprintln!("unreadable manifest {name}: {why}");
    }
    eprintln!("{} entries in {url}", listing.entries.len());
    Ok(ExitCode::SUCCESS)
}
