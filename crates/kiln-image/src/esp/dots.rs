//! Puts `.` and `..` where the FAT spec wants them, after `fatfs` 0.3.6 has written the volume.
//!
//! FAT spec §6: every directory but the root starts with `.` (its own first cluster) and `..`
//! (its parent's first cluster, 0 when the parent is the root). `fatfs` 0.3.6 writes a
//! long-name entry in front of each (`[LFN .][.][LFN ..][..]`), and on FAT32 gives `..` the
//! root's cluster instead of 0 (rafalh/rust-fatfs#117; fixed upstream after 0.3.6, unreleased).
//! `fsck.fat` rejects both and would "repair" the directory by deleting it.
//!
//! This pass walks the finished volume and rewrites the first four slots of each directory to
//! `[.][..][deleted][deleted]`: the stray long-name entries become free slots (`0xE5`, §6)
//! rather than end markers (`0x00`), which would hide the entries after them. A directory that
//! already starts with `.` and `..` is left alone, so a fixed `fatfs` makes this a no-op, apart
//! from the FAT32 `..` cluster.

use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;

use crate::error::{ImageError, Result};
use crate::esp::FatKind;

const ENTRY: usize = 32;
/// DIR_Attr values (FAT spec §6): a long-name entry is READ_ONLY|HIDDEN|SYSTEM|VOLUME_ID.
const ATTR_LONG_NAME: u8 = 0x0F;
const ATTR_VOLUME_ID: u8 = 0x08;
const ATTR_DIRECTORY: u8 = 0x10;
/// DIR_Name[0] of a free entry (FAT spec §6).
const DELETED: u8 = 0xE5;
const DOT: &[u8; 11] = b".          ";
const DOTDOT: &[u8; 11] = b"..         ";

/// Where the pieces of the volume are, read from its boot sector (FAT spec §3.1-§3.3).
struct Layout {
    fat: FatKind,
    fat_offset: u64,
    data_offset: u64,
    cluster_size: u64,
    /// Highest valid cluster number (clusters are numbered from 2).
    max_cluster: u32,
    root: Root,
}

enum Root {
    /// FAT12/16: a fixed region (offset, bytes).
    Region(u64, u64),
    /// FAT32: a cluster chain starting at BPB_RootClus.
    Cluster(u32),
}

/// Fixes every directory of the volume on `disk`.
pub(super) fn fix_dot_entries<D: Read + Write + Seek>(
    disk: &mut D,
    fat: FatKind,
    image: &Path,
) -> Result<()> {
    let mut io = Io { disk, image };
    let layout = read_layout(&mut io, fat)?;
    let root = match layout.root {
        Root::Region(offset, len) => io.read(offset, len, "/")?,
        Root::Cluster(first) => read_chain(&mut io, &layout, first)?,
    };
    fix_children(&mut io, &layout, &root, 0)
}

/// Fixes the subdirectories listed in `entries` (the raw bytes of a directory whose first
/// cluster is `own_cluster`, 0 for the root), then recurses into them.
fn fix_children<D: Read + Write + Seek>(
    io: &mut Io<'_, D>,
    layout: &Layout,
    entries: &[u8],
    own_cluster: u32,
) -> Result<()> {
    for entry in entries.chunks_exact(ENTRY) {
        match entry[0] {
            0x00 => break, // end of directory (FAT spec §6)
            DELETED => continue,
            _ => {}
        }
        let attr = entry[11];
        let is_dot = entry[..11] == DOT[..] || entry[..11] == DOTDOT[..];
        if attr & ATTR_LONG_NAME == ATTR_LONG_NAME
            || attr & ATTR_VOLUME_ID != 0
            || attr & ATTR_DIRECTORY == 0
            || is_dot
        {
            continue;
        }
        let first = cluster_of(entry);
        let at = layout.cluster_offset(first)?;
        let mut head = io.read(at, 4 * ENTRY as u64, "directory")?;
        let mut slots: Vec<[u8; ENTRY]> = head
            .chunks_exact(ENTRY)
            .map(|slot| slot.try_into().unwrap_or([0; ENTRY]))
            .collect();
        let looks_like_fatfs_036 = slots[0][11] == ATTR_LONG_NAME
            && slots[1][..11] == DOT[..]
            && slots[2][11] == ATTR_LONG_NAME
            && slots[3][..11] == DOTDOT[..];
        if looks_like_fatfs_036 {
            let (lfn_dot, dot, lfn_dotdot, dotdot) = (slots[0], slots[1], slots[2], slots[3]);
            slots = vec![dot, dotdot, lfn_dot, lfn_dotdot];
            slots[2][0] = DELETED;
            slots[3][0] = DELETED;
        } else if slots[0][..11] != DOT[..] || slots[1][..11] != DOTDOT[..] {
            return Err(ImageError::EspBug {
                what: format!("directory at cluster {first} does not start with `.` and `..`"),
            });
        }
        // `..` names the parent's first cluster, and 0 for the root on every FAT type (FAT
        // spec §6).
        set_cluster(&mut slots[1], own_cluster);
        head = slots.concat();
        io.write(at, &head, "directory")?;
        let sub = read_chain(io, layout, first)?;
        fix_children(io, layout, &sub, first)?;
    }
    Ok(())
}

/// DIR_FstClusHI (offset 20, FAT32 only, zero otherwise) and DIR_FstClusLO (offset 26).
fn cluster_of(entry: &[u8]) -> u32 {
    let hi = u16::from_le_bytes([entry[20], entry[21]]);
    let lo = u16::from_le_bytes([entry[26], entry[27]]);
    (u32::from(hi) << 16) | u32::from(lo)
}

fn set_cluster(entry: &mut [u8; ENTRY], cluster: u32) {
    let [a, b, c, d] = cluster.to_le_bytes();
    entry[20..22].copy_from_slice(&[c, d]);
    entry[26..28].copy_from_slice(&[a, b]);
}

fn read_layout<D: Read + Write + Seek>(io: &mut Io<'_, D>, fat: FatKind) -> Result<Layout> {
    let boot = io.read(0, 512, "/")?;
    let u16_at = |at: usize| u64::from(u16::from_le_bytes([boot[at], boot[at + 1]]));
    let u32_at = |at: usize| {
        u64::from(u32::from_le_bytes([
            boot[at],
            boot[at + 1],
            boot[at + 2],
            boot[at + 3],
        ]))
    };
    // FAT spec §3.1 (BPB) and §3.3 (FAT32 extension).
    let sector = u16_at(11);
    let cluster_size = u64::from(boot[13]) * sector;
    let reserved = u16_at(14);
    let fats = u64::from(boot[16]);
    let root_entries = u16_at(17);
    let total = if u16_at(19) != 0 {
        u16_at(19)
    } else {
        u32_at(32)
    };
    let fat_sectors = if u16_at(22) != 0 {
        u16_at(22)
    } else {
        u32_at(36)
    };
    let root_bytes = root_entries * ENTRY as u64;
    let root_sectors = root_bytes.div_ceil(sector.max(1));
    let fat_offset = reserved * sector;
    let root_offset = fat_offset + fats * fat_sectors * sector;
    let data_offset = root_offset + root_sectors * sector;
    let data_sectors = total.saturating_sub(data_offset / sector.max(1));
    let clusters = data_sectors / u64::from(boot[13]).max(1);
    let bug = || ImageError::EspBug {
        what: "the boot sector fatfs wrote does not describe a volume".to_owned(),
    };
    if sector == 0 || cluster_size == 0 {
        return Err(bug());
    }
    let max_cluster = u32::try_from(clusters + 1).map_err(|_| bug())?;
    let root = match fat {
        FatKind::Fat32 => Root::Cluster(u32::try_from(u32_at(44)).map_err(|_| bug())?),
        FatKind::Fat12 | FatKind::Fat16 => Root::Region(root_offset, root_bytes),
    };
    Ok(Layout {
        fat,
        fat_offset,
        data_offset,
        cluster_size,
        max_cluster,
        root,
    })
}

impl Layout {
    fn cluster_offset(&self, cluster: u32) -> Result<u64> {
        if cluster < 2 || cluster > self.max_cluster {
            return Err(ImageError::EspBug {
                what: format!("directory points at cluster {cluster}"),
            });
        }
        Ok(self.data_offset + u64::from(cluster - 2) * self.cluster_size)
    }
}

/// Reads a directory by following its chain in the first FAT (FAT spec §4).
fn read_chain<D: Read + Write + Seek>(
    io: &mut Io<'_, D>,
    layout: &Layout,
    first: u32,
) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut cluster = first;
    // A chain never visits more clusters than the volume has; this bounds a corrupt loop.
    for _ in 0..=layout.max_cluster {
        let at = layout.cluster_offset(cluster)?;
        out.extend(io.read(at, layout.cluster_size, "directory")?);
        let next = next_cluster(io, layout, cluster)?;
        let end_of_chain = match layout.fat {
            FatKind::Fat12 => 0xFF8,
            FatKind::Fat16 => 0xFFF8,
            FatKind::Fat32 => 0x0FFF_FFF8,
        };
        if next >= end_of_chain {
            return Ok(out);
        }
        cluster = next;
    }
    Err(ImageError::EspBug {
        what: format!("the cluster chain from {first} loops"),
    })
}

/// FAT spec §4: FAT12 entries are 12 bits packed in pairs, FAT16 16 bits, FAT32 28 bits.
fn next_cluster<D: Read + Write + Seek>(
    io: &mut Io<'_, D>,
    layout: &Layout,
    cluster: u32,
) -> Result<u32> {
    let n = u64::from(cluster);
    Ok(match layout.fat {
        FatKind::Fat12 => {
            let raw = io.read(layout.fat_offset + n + n / 2, 2, "FAT")?;
            let pair = u32::from(u16::from_le_bytes([raw[0], raw[1]]));
            if cluster % 2 == 1 {
                pair >> 4
            } else {
                pair & 0xFFF
            }
        }
        FatKind::Fat16 => {
            let raw = io.read(layout.fat_offset + 2 * n, 2, "FAT")?;
            u32::from(u16::from_le_bytes([raw[0], raw[1]]))
        }
        FatKind::Fat32 => {
            let raw = io.read(layout.fat_offset + 4 * n, 4, "FAT")?;
            u32::from_le_bytes([raw[0], raw[1], raw[2], raw[3]]) & 0x0FFF_FFFF
        }
    })
}

/// Positioned reads and writes that name the image in their errors.
struct Io<'a, D> {
    disk: &'a mut D,
    image: &'a Path,
}

impl<D: Read + Write + Seek> Io<'_, D> {
    fn read(&mut self, at: u64, len: u64, what: &str) -> Result<Vec<u8>> {
        let len = usize::try_from(len).map_err(|_| ImageError::EspBug {
            what: format!("{what} of {len} bytes"),
        })?;
        let mut buf = vec![0u8; len];
        self.disk
            .seek(SeekFrom::Start(at))
            .and_then(|_| self.disk.read_exact(&mut buf))
            .map_err(|source| self.error(what, source))?;
        Ok(buf)
    }

    fn write(&mut self, at: u64, bytes: &[u8], what: &str) -> Result<()> {
        self.disk
            .seek(SeekFrom::Start(at))
            .and_then(|_| self.disk.write_all(bytes))
            .map_err(|source| self.error(what, source))
    }

    fn error(&self, what: &str, source: std::io::Error) -> ImageError {
        ImageError::EspFat {
            image: self.image.to_path_buf(),
            entry: format!("({what})"),
            source,
        }
    }
}
