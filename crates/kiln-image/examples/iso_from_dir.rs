//! Builds an ISO from a directory on disk: `iso_from_dir VOLUME_ID DIR OUT.iso`.
//! Boot options come from the environment (paths inside DIR, except the MBR template):
//! `KILN_BIOS=isolinux/isolinux.bin`, `KILN_EFI=boot/efi.img`, `KILN_CATALOG=isolinux/boot.cat`,
//! `KILN_HYBRID_MBR=/usr/lib/ISOLINUX/isohdpfx.bin` (adds a GPT too when `KILN_EFI` is set).
//! It exists for `tests/bench/iso.sh`, to compare kiln's writer with `xorriso -as mkisofs -R`
//! on the same tree; the real pipeline builds its `IsoSpec` from the store instead.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Instant;

use kiln_image::iso::{write_iso, FileSource, IsoSpec, IsoTree, VolumeId};

fn walk(tree: &mut IsoTree, dir: &Path, prefix: &str) -> Result<(), Box<dyn std::error::Error>> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|entry| entry.file_name());
    for entry in entries {
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = if prefix.is_empty() {
            name
        } else {
            format!("{prefix}/{name}")
        };
        let meta = std::fs::symlink_metadata(entry.path())?;
        let mode = meta.permissions().mode() & 0o7777;
        if meta.is_symlink() {
            tree.add_symlink(&path, &std::fs::read_link(entry.path())?.to_string_lossy())?;
        } else if meta.is_dir() {
            tree.add_dir(&path, mode)?;
            walk(tree, &entry.path(), &path)?;
        } else if meta.is_file() {
            tree.add_file(&path, mode, FileSource::Path(entry.path()))?;
        }
    }
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, volume_id, dir, out] = args.as_slice() else {
        return Err("usage: iso_from_dir VOLUME_ID DIR OUT.iso".into());
    };
    let start = Instant::now();
    let mut tree = IsoTree::new();
    walk(&mut tree, Path::new(dir), "")?;
    let timestamp = match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(value) => value
            .trim()
            .parse()
            .map_err(|_| format!("SOURCE_DATE_EPOCH `{value}` is not an integer"))?,
        Err(_) => 0,
    };
    let mut spec = IsoSpec::new(VolumeId::new(volume_id)?, tree, timestamp);
    spec.boot.bios_image = std::env::var("KILN_BIOS").ok();
    spec.boot.efi_image = std::env::var("KILN_EFI").ok();
    spec.boot.catalog_path = std::env::var("KILN_CATALOG").ok();
    if let Some(mbr) = std::env::var_os("KILN_HYBRID_MBR") {
        spec.boot.hybrid_mbr = Some(std::fs::read(mbr)?.into());
        spec.boot.hybrid_gpt = spec.boot.efi_image.is_some();
    }
    let summary = write_iso(&spec, Path::new(out))?;
    eprintln!(
        "{} dirs, {} files, {} bytes in {:.3}s",
        summary.dirs,
        summary.files,
        summary.size,
        start.elapsed().as_secs_f64()
    );
    Ok(())
}
