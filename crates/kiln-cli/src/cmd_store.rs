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
    /// Re-hash every entry and report those whose contents changed.
    Verify {
        /// Remove damaged entries, so the next build re-creates them.
        #[arg(long)]
        repair: bool,
    },
    /// Remove entries that no `result` link (and nothing they reference) keeps alive.
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
            let damage = store.verify(repair)?;
            for item in &damage {
                let action = if item.removed { " (removed)" } else { "" };
                eprintln!("damaged: {}: {}{action}", item.entry, item.problem);
            }
            let total = store.list()?.len();
            if damage.is_empty() {
                eprintln!("{total} entries verified, no damage");
                Ok(ExitCode::SUCCESS)
            } else {
                eprintln!("{} damaged entries", damage.len());
                Ok(if repair && damage.iter().all(|d| d.removed) {
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
                "{} entries removed, {} kept",
                report.removed.len(),
                report.kept
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}
