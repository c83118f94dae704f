//! Writes a directory tree as a compressed initrd with kiln's writer and prints the time, for
//! `tests/bench/initrd.sh`, which runs the reference pipeline on the same tree.
//! Usage: `initrd_bench DIR OUT [zstd|xz|gzip|none]`.

use kiln_image::cpio::{self, Compressor, CpioOptions};
use std::path::PathBuf;
use std::time::Instant;

fn main() -> miette::Result<()> {
    let mut args = std::env::args_os().skip(1);
    let (Some(dir), Some(out)) = (args.next(), args.next()) else {
        return Err(miette::miette!(
            "usage: initrd_bench DIR OUT [zstd|xz|gzip|none]"
        ));
    };
    let compressor = match args.next().and_then(|a| a.into_string().ok()).as_deref() {
        None | Some("zstd") => Compressor::default(),
        Some("xz") => Compressor::Xz { level: 6 },
        Some("gzip") => Compressor::Gzip { level: 6 },
        Some("none") => Compressor::None,
        Some(other) => return Err(miette::miette!("unknown compressor `{other}`")),
    };
    let start = Instant::now();
    let entries = cpio::entries_from_dir(&PathBuf::from(dir))?;
    let stats = cpio::write_initrd(
        &PathBuf::from(out),
        entries,
        &CpioOptions::from_source_date_epoch(std::env::var("SOURCE_DATE_EPOCH").ok().as_deref())?,
        compressor,
    )?;
    let secs = start.elapsed().as_secs_f64();
    // A bench tool reports on stderr so stdout stays free for scripts.
    eprintln!(
        "kiln: {} entries, {} bytes uncompressed, {secs:.3} s",
        stats.n_entries, stats.archive_len
    );
    Ok(())
}
