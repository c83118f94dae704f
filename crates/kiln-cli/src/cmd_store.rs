//! `kiln store`: look after the local store (list, verify, collect garbage).

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
    /// List registered entries with their content hash and references.
    Ls,
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
    let store = Store::open(args.store.unwrap_or_else(Store::default_root))?;
    match args.command {
        StoreCommand::Ls => {
            for info in store.list()? {
                println!("{}\t{}", store.path(&info.entry).display(), info.content);
                for reference in &info.references {
                    println!("\t-> {reference}");
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        StoreCommand::Verify { repair } => {
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
