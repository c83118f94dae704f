//! Writing a planned image: metadata built in memory, file data copied in parallel with
//! positioned writes, all into a temporary file that is renamed over the destination at the end.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;

use rayon::prelude::*;

use crate::error::{ImageError, Result};
use crate::iso::eltorito::{self, BootEntry};
use crate::iso::layout::{self, Plan, PlanRecord, Target};
use crate::iso::records::{self, narrow, DirRecord, Pvd, FLAG_DIRECTORY, SECTOR, SECTOR_U64};
use crate::iso::{hybrid, susp};
use crate::iso::{FileSource, IsoSpec, IsoSummary};

/// Copy buffer size for file data; large enough to keep the disk busy, small enough per thread.
const CHUNK: usize = 1 << 20;

/// Files are copied in ranges of this size, each on its own rayon task.
const RANGE: u64 = 32 << 20;

/// Writes the image for `spec` to `dest`, atomically: on any error nothing is left at `dest`
/// (nor the temporary file). Uses the current rayon pool for file data.
pub fn write_iso(spec: &IsoSpec, dest: &Path) -> Result<IsoSummary> {
    let plan = layout::plan(spec)?;
    let file_name = dest
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dest.with_file_name(format!(".{file_name}.kiln-tmp-{}", std::process::id()));
    let res = write_to(&plan, spec, &tmp);
    let res =
        res.and_then(|()| std::fs::rename(&tmp, dest).map_err(|source| write_error(dest, source)));
    if res.is_err() {
        // Best effort: the primary error is the one worth reporting.
        let _ = std::fs::remove_file(&tmp);
    }
    res?;
    Ok(IsoSummary {
        size: u64::from(plan.volume_blocks) * SECTOR_U64,
        dirs: plan.dirs.len(),
        files: plan.files.len(),
    })
}

fn write_error(path: &Path, source: std::io::Error) -> ImageError {
    ImageError::IsoWrite {
        path: path.to_path_buf(),
        source,
    }
}

fn write_to(plan: &Plan, spec: &IsoSpec, tmp: &Path) -> Result<()> {
    let meta = metadata(plan)?;
    let file = File::create(tmp).map_err(|source| write_error(tmp, source))?;
    let total = u64::from(plan.volume_blocks) * SECTOR_U64;
    file.set_len(total)
        .map_err(|source| write_error(tmp, source))?;
    file.write_all_at(&meta, 0)
        .map_err(|source| write_error(tmp, source))?;
    if let Some(hybrid) = hybrid_bytes(plan, spec)? {
        file.write_all_at(&hybrid.head, 0)
            .map_err(|source| write_error(tmp, source))?;
        if let Some((at, tail)) = hybrid.tail {
            file.write_all_at(&tail, at)
                .map_err(|source| write_error(tmp, source))?;
        }
    }
    // Large files are split into ranges so one big squashfs does not leave the other threads
    // idle; the ranges are disjoint, so the bytes are the same for any thread count.
    let mut work = Vec::new();
    for (idx, planned) in plan.files.iter().enumerate() {
        // The BIOS image is patched in memory, in one piece.
        let range = if Some(idx) == plan.bios_file {
            u64::MAX
        } else {
            RANGE
        };
        let mut start = 0;
        loop {
            let len = range.min(planned.size - start);
            work.push((idx, start, len));
            start += len;
            if start >= planned.size {
                break;
            }
        }
    }
    work.into_par_iter().try_for_each(|(idx, start, len)| {
        let planned = &plan.files[idx];
        if Some(idx) == plan.bios_file {
            let mut bytes = read_all(&planned.source, planned.size)?;
            eltorito::patch_boot_info_table(&mut bytes, 16, planned.lba)?;
            return file
                .write_all_at(&bytes, offset(planned.lba))
                .map_err(|source| write_error(tmp, source));
        }
        copy_range(
            &file,
            tmp,
            &planned.source,
            planned.size,
            (start, len),
            offset(planned.lba),
        )
    })?;
    // No fsync: like xorriso, mksquashfs and Nix's builds, the bytes reach the disk when the
    // kernel writes them back (a crash before that is what `kiln store verify` finds); a full
    // disk fails the write itself.
    Ok(())
}

/// The isohybrid system area and backup GPT, if asked for.
fn hybrid_bytes(plan: &Plan, spec: &IsoSpec) -> Result<Option<hybrid::HybridBytes>> {
    let Some(template) = &spec.boot.hybrid_mbr else {
        return Ok(None);
    };
    let sectors = |lba: u32| u64::from(lba) * 4;
    let hybrid = hybrid::Hybrid {
        mbr_template: template,
        gpt: spec.boot.hybrid_gpt,
        volume_id: &plan.volume_id,
        total_sectors: sectors(plan.volume_blocks),
        bios_sector: plan.bios_file.map_or(0, |idx| sectors(plan.files[idx].lba)),
        efi: plan.efi_file.map(|idx| {
            (
                sectors(plan.files[idx].lba),
                plan.files[idx].size.div_ceil(512),
            )
        }),
    };
    hybrid::encode(&hybrid).map(Some)
}

fn offset(lba: u32) -> u64 {
    u64::from(lba) * SECTOR_U64
}

/// Copies `range` (start, length) of one source into the image at `at + start`, checking that
/// the source still has the planned size.
fn copy_range(
    out: &File,
    tmp: &Path,
    source: &FileSource,
    size: u64,
    (start, len): (u64, u64),
    at: u64,
) -> Result<()> {
    let path = match source {
        FileSource::Bytes(bytes) => {
            let range = usize::try_from(start).ok().and_then(|start| {
                let end = start.checked_add(usize::try_from(len).ok()?)?;
                bytes.get(start..end)
            });
            let range =
                range.ok_or_else(|| changed(Path::new("<generated>"), size, bytes.len() as u64))?;
            return out
                .write_all_at(range, at + start)
                .map_err(|err| write_error(tmp, err));
        }
        FileSource::Path(path) => path,
    };
    let read_err = |source| ImageError::IsoReadSource {
        path: path.clone(),
        source,
    };
    let input = File::open(path).map_err(read_err)?;
    let found = input.metadata().map_err(read_err)?.len();
    if found != size {
        return Err(changed(path, size, found));
    }
    // copy_file_range(2) moves the bytes inside the kernel (no copy through user space); where
    // it cannot (another file system, an old kernel) or fails, the positioned read/write loop
    // finishes the range and reports what really went wrong, as a read or a write error.
    let mut done = 0u64;
    while done < len {
        let (mut from, mut to) = (start + done, at + start + done);
        let want = usize::try_from(len - done).unwrap_or(usize::MAX);
        match rustix::fs::copy_file_range(&input, Some(&mut from), out, Some(&mut to), want) {
            Ok(0) | Err(_) => break,
            Ok(n) => done += n as u64,
        }
    }
    let mut buf = vec![
        0u8;
        CHUNK
            .min(usize::try_from(len - done).unwrap_or(CHUNK))
            .max(1)
    ];
    while done < len {
        let want = buf
            .len()
            .min(usize::try_from(len - done).unwrap_or(usize::MAX));
        let n = input
            .read_at(&mut buf[..want], start + done)
            .map_err(read_err)?;
        if n == 0 {
            return Err(changed(path, size, start + done));
        }
        out.write_all_at(&buf[..n], at + start + done)
            .map_err(|err| write_error(tmp, err))?;
        done += n as u64;
    }
    Ok(())
}

fn changed(path: &Path, planned: u64, found: u64) -> ImageError {
    ImageError::IsoSourceChanged {
        path: path.to_path_buf(),
        planned,
        found,
    }
}

fn read_all(source: &FileSource, size: u64) -> Result<Vec<u8>> {
    match source {
        FileSource::Bytes(bytes) => Ok(bytes.to_vec()),
        FileSource::Path(path) => {
            let bytes = std::fs::read(path).map_err(|source| ImageError::IsoReadSource {
                path: path.clone(),
                source,
            })?;
            if bytes.len() as u64 != size {
                return Err(changed(path, size, bytes.len() as u64));
            }
            Ok(bytes)
        }
    }
}

/// Builds every block before the file data.
fn metadata(plan: &Plan) -> Result<Vec<u8>> {
    let len = usize::try_from(offset(plan.data_lba)).map_err(|_| ImageError::IsoBug {
        what: "metadata larger than memory".into(),
    })?;
    let mut meta = vec![0u8; len];
    let block = |lba: u32| {
        let start = usize::try_from(lba)
            .unwrap_or(usize::MAX)
            .saturating_mul(SECTOR);
        start..start.saturating_add(SECTOR)
    };

    // Directories (ECMA-119 6.8, 9.1).
    for dir in &plan.dirs {
        let mut bytes = Vec::with_capacity(usize::try_from(dir.size).unwrap_or(0));
        for rec in &dir.records {
            let len = layout::record_len(rec);
            if bytes.len() % SECTOR + len > SECTOR {
                bytes.resize(bytes.len() + SECTOR - bytes.len() % SECTOR, 0);
            }
            encode_record(plan, rec, &mut bytes)?;
        }
        let start = usize::try_from(offset(dir.lba)).unwrap_or(usize::MAX);
        let end = start + bytes.len();
        if bytes.len() > usize::try_from(dir.size).unwrap_or(0) || end > meta.len() {
            return Err(ImageError::IsoBug {
                what: "directory outgrew its planned extent".into(),
            });
        }
        meta[start..end].copy_from_slice(&bytes);
    }

    // Path tables (ECMA-119 6.9, 9.4): L then M, same order.
    for (lba, big_endian) in [
        (plan.l_path_table_lba, false),
        (plan.m_path_table_lba, true),
    ] {
        let mut table = Vec::new();
        for dir in &plan.dirs {
            let parent = narrow::<u16>(
                "path table parent directory number (9.4.4)",
                dir.parent as u64 + 1,
            )?;
            records::encode_path_record(&mut table, &dir.identifier, dir.lba, parent, big_endian)?;
        }
        let start = usize::try_from(offset(lba)).unwrap_or(usize::MAX);
        meta[start..start + table.len()].copy_from_slice(&table);
    }

    // Continuation areas (SUSP 5.1).
    let ce_start = usize::try_from(offset(plan.ce_lba)).unwrap_or(usize::MAX);
    meta[ce_start..ce_start + plan.ce_region.len()].copy_from_slice(&plan.ce_region);

    // El Torito boot record and catalog.
    if let (Some(br_lba), Some(cat_lba)) = (plan.boot_record_lba, plan.catalog_lba) {
        eltorito::encode_boot_record(&mut meta[block(br_lba)], cat_lba);
        let bios = plan.bios_file.map(|idx| BootEntry {
            lba: plan.files[idx].lba,
            sectors: 4,
        });
        let efi = plan.efi_file.map(|idx| BootEntry {
            lba: plan.files[idx].lba,
            sectors: eltorito::efi_sectors(plan.files[idx].size),
        });
        eltorito::encode_catalog(&mut meta[block(cat_lba)], bios.as_ref(), efi.as_ref());
    }

    // Primary volume descriptor (8.4) with the root's `.` record without system use (8.4.18).
    let root = &plan.dirs[0];
    let mut root_record = Vec::with_capacity(34);
    DirRecord {
        extent_lba: root.lba,
        data_length: root.size,
        date: plan.short_date,
        flags: FLAG_DIRECTORY,
        identifier: &[0],
        system_use: &[],
    }
    .encode(&mut root_record)?;
    Pvd {
        volume_id: &plan.volume_id,
        volume_space_size: plan.volume_blocks,
        path_table_size: plan.path_table_size,
        l_path_table_lba: plan.l_path_table_lba,
        m_path_table_lba: plan.m_path_table_lba,
        root_record: &root_record,
        date: plan.long_date,
    }
    .encode(&mut meta[block(16)]);
    records::encode_terminator(&mut meta[block(plan.terminator_lba)]);
    Ok(meta)
}

/// Encodes one directory record, resolving its target and continuation address.
fn encode_record(plan: &Plan, rec: &PlanRecord, out: &mut Vec<u8>) -> Result<()> {
    let (extent_lba, data_length, flags) = match rec.target {
        Target::Dir(idx) => (plan.dirs[idx].lba, plan.dirs[idx].size, FLAG_DIRECTORY),
        Target::File(idx) => {
            let file = &plan.files[idx];
            (file.lba, narrow("file data length (9.1.4)", file.size)?, 0)
        }
        Target::Symlink => (0, 0, 0),
        Target::Catalog => (plan.catalog_lba.unwrap_or(0), 2048, 0),
    };
    let mut system_use = rec.su.inline.clone();
    if let Some((lba, off)) = rec.ce_at {
        let len = narrow("continuation length", rec.su.continued.len() as u64)?;
        system_use.extend_from_slice(&susp::ce(lba, off, len));
    }
    DirRecord {
        extent_lba,
        data_length,
        date: plan.short_date,
        flags,
        identifier: &rec.identifier,
        system_use: &system_use,
    }
    .encode(out)
}
