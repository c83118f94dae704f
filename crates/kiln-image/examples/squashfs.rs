//! Writes a directory tree as a squashfs image: `squashfs TREE OUT [zstd|xz|gzip]`.
//! The timestamp comes from `SOURCE_DATE_EPOCH` (0 when unset).
//! It exists for `tests/bench/squashfs.sh`, to compare kiln's writer with `mksquashfs` on the
//! same tree; the real pipeline writes the live root from the store instead.

use std::path::Path;
use std::time::Instant;

use kiln_image::squashfs::{write_squashfs, SquashfsCompression, SquashfsOptions};

fn main() -> miette::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let (tree, out, compression) = match args.as_slice() {
        [_, tree, out] => (tree, out, "zstd"),
        [_, tree, out, compression] => (tree, out, compression.as_str()),
        _ => return Err(miette::miette!("usage: squashfs TREE OUT [zstd|xz|gzip]")),
    };
    let timestamp = match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(value) => value
            .parse()
            .map_err(|_| miette::miette!("SOURCE_DATE_EPOCH `{value}` is not an integer"))?,
        Err(_) => 0,
    };
    let options = SquashfsOptions {
        compression: SquashfsCompression::from_config(compression)?,
        timestamp,
        owners: kiln_image::squashfs::Owners::Root,
    };
    let start = Instant::now();
    let summary = write_squashfs(Path::new(tree), Path::new(out), &options)?;
    eprintln!(
        "{} dirs, {} files, {} symlinks, {} bytes in, {} bytes out in {:.3}s",
        summary.dirs,
        summary.files,
        summary.symlinks,
        summary.file_bytes,
        summary.size,
        start.elapsed().as_secs_f64()
    );
    Ok(())
}
