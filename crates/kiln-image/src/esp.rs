//! The EFI System Partition image: a FAT file system holding the UEFI loader (and usually the
//! kernel and initrd) that the ISO's El Torito UEFI entry and its isohybrid MBR/GPT partition
//! point at ([`crate::iso::BootOptions::efi_image`]).
//!
//! Semantics, in writing order:
//! 1. The spec's paths are checked and arranged in a tree, with FAT's case-insensitive name
//!    comparison; sizes of files on disk are read once, here.
//! 2. The volume is sized from the tree: every file rounded up to whole clusters, every
//!    directory's entries (long-name entries included), the FATs and the root directory, plus a
//!    small margin. The FAT type follows from the cluster count, as Microsoft's "FAT
//!    Specification" (2005, which carries the 2000 "FAT32 File System Specification" 1.03
//!    forward; "the FAT spec" below, cited by its section numbers) §3.5 defines it.
//! 3. The volume is formatted and filled by the `fatfs` crate, entries in sorted order, every
//!    timestamp taken from the spec, the volume serial number derived from the file list. The
//!    bytes therefore depend only on the spec and the file contents. A last pass ([`dots`])
//!    repairs the `.` and `..` entries that `fatfs` 0.3.6 gets wrong.
//! 4. [`write_esp`] writes to a temporary file beside the destination and renames it at the
//!    end, so an error never leaves a half-written image behind; [`write_esp_to_vec`] returns the
//!    bytes for callers that put a small ESP straight into an [`crate::iso::IsoTree`].
//!
//! Why FAT12/16 is acceptable: UEFI 2.10 §13.3.1.1 asks for FAT32 on a system partition of a
//! fixed disk but accepts FAT12 and FAT16 on removable media, which is what a live ISO (a CD or a
//! USB stick) is. Small ESPs stay small that way: FAT32 needs at least 65525 clusters.
//!
//! Rejected alternatives: writing FAT by hand (the `fatfs` crate is maintained, fuzzed by its
//! author and handles long names and short-name aliases), and running `mkfs.vfat` + `mcopy`
//! (external tools, wall-clock timestamps and random serial numbers unless told otherwise).

use std::cell::Cell;
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;

use crate::error::{ImageError, Result};
use crate::iso::{Civil, FileSource};

mod dots;

/// Everything that determines an ESP image's bytes.
#[derive(Clone, Debug, Default)]
pub struct EspSpec {
    /// Files by their `/`-separated path on the volume, for example `EFI/BOOT/BOOTX64.EFI`.
    /// Parent directories are created as needed; the order of the list does not matter.
    pub files: Vec<(String, FileSource)>,
    /// The volume label (at most 11 characters); empty means `NO NAME`, the FAT spec's default.
    pub label: String,
    /// Seconds since the Unix epoch, used for every timestamp on the volume (`SOURCE_DATE_EPOCH`
    /// semantics). FAT dates run from 1980 to 2107;
    /// times outside that range are clamped to it, as Linux's vfat driver does.
    pub timestamp: i64,
}

impl EspSpec {
    /// An empty spec with a label and a timestamp.
    pub fn new(label: &str, timestamp: i64) -> EspSpec {
        EspSpec {
            files: Vec::new(),
            label: label.to_owned(),
            timestamp,
        }
    }

    /// Adds a file at `path`; paths are checked when the image is written.
    pub fn add_file(&mut self, path: &str, source: FileSource) {
        self.files.push((path.to_owned(), source));
    }
}

/// The FAT variant of a written volume, decided by its cluster count (FAT spec §3.5).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FatKind {
    Fat12,
    Fat16,
    Fat32,
}

/// What the writers report about the image they wrote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EspSummary {
    /// The image size in bytes (a whole number of 512-byte sectors).
    pub size: u64,
    pub fat: FatKind,
    /// Bytes per cluster.
    pub cluster_size: u32,
    /// Number of regular files.
    pub files: usize,
    /// Number of directories, not counting the root.
    pub dirs: usize,
}

/// Writes the ESP image for `spec` to `dest`, atomically: on any error nothing is left at
/// `dest` (nor the temporary file).
pub fn write_esp(spec: &EspSpec, dest: &Path) -> Result<EspSummary> {
    let plan = plan(spec)?;
    let file_name = dest
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dest.with_file_name(format!(".{file_name}.kiln-tmp-{}", std::process::id()));
    let res = write_file(&plan, &tmp).and_then(|()| {
        std::fs::rename(&tmp, dest).map_err(|source| ImageError::EspWrite {
            path: dest.to_path_buf(),
            source,
        })
    });
    if res.is_err() {
        // Best effort: the primary error is the one worth reporting.
        let _ = std::fs::remove_file(&tmp);
    }
    res?;
    Ok(plan.summary())
}

/// Builds the ESP image for `spec` in memory, for a caller that writes it elsewhere (the ISO
/// writer); much faster than [`write_esp`] since `fatfs`'s small FAT updates are memory copies.
pub fn write_esp_to_vec(spec: &EspSpec) -> Result<Vec<u8>> {
    let plan = plan(spec)?;
    let len = usize::try_from(plan.size()).map_err(|_| ImageError::EspTooLarge {
        needed: plan.size(),
    })?;
    // `fatfs` leaves unused clusters untouched, so the buffer starts zeroed.
    let mut disk = std::io::Cursor::new(vec![0u8; len]);
    write_volume(&plan, &mut disk, Path::new("<memory>"))?;
    Ok(disk.into_inner())
}

// ---- planning ----

/// Bytes per sector. 512 is what every FAT implementation reads and what the El Torito entry
/// and the MBR/GPT partition count in (FAT spec §3.1 BPB_BytsPerSec; El Torito 2.2 offset 6).
const SECTOR: u64 = 512;
/// Two FATs, the FAT spec's recommended BPB_NumFATs (§3.1): `fsck.fat` and firmware expect it.
const FATS: u64 = 2;
/// A directory entry, short or long-name (FAT spec §6 and §7), is 32 bytes.
const DIR_ENTRY: u64 = 32;
/// A long-name entry holds 13 UTF-16 code units (FAT spec §7).
const LFN_CHARS: u64 = 13;
/// The largest file FAT can record: DIR_FileSize is 32 bits (FAT spec §6).
const MAX_FILE: u64 = u32::MAX as u64;

/// Cluster counts kept clear of the FAT12/16/32 boundaries (4085 and 65525, FAT spec §3.5), so
/// that a rounding difference between this sizing and `fatfs`'s own FAT-size formula cannot tip
/// the volume into the other type.
const FAT12_MAX: u64 = 4000;
const FAT16_MIN: u64 = 4200;
const FAT16_MAX: u64 = 65_000;
const FAT32_MIN: u64 = 66_000;
/// FAT32 entries are 28 bits and the top values are reserved (FAT spec §4).
const FAT32_MAX: u64 = 0x0FFF_0000;

/// The validated, sorted input, and the geometry chosen for it.
struct Plan {
    root: PlanDir,
    geometry: Geometry,
    label: Option<[u8; 11]>,
    volume_id: u32,
    time: fatfs::DateTime,
    files: usize,
    dirs: usize,
}

impl Plan {
    fn size(&self) -> u64 {
        self.geometry.total_sectors * SECTOR
    }

    fn summary(&self) -> EspSummary {
        EspSummary {
            size: self.size(),
            fat: self.geometry.fat,
            cluster_size: self.geometry.cluster_size,
            files: self.files,
            dirs: self.dirs,
        }
    }
}

/// One directory; entries are keyed by their upper-cased name, FAT's comparison (FAT spec §6
/// for short names, §7 for long names), which is also the order in
/// which they are written.
#[derive(Default)]
struct PlanDir {
    /// The name as given; the first path that created the directory decides its case.
    name: String,
    /// The path that created it, for conflict messages.
    path: String,
    entries: BTreeMap<String, PlanNode>,
}

enum PlanNode {
    Dir(PlanDir),
    File(PlanFile),
}

struct PlanFile {
    name: String,
    path: String,
    source: FileSource,
    size: u64,
}

struct Geometry {
    fat: FatKind,
    cluster_size: u32,
    total_sectors: u64,
    /// Root directory entries of a FAT12/16 volume (its root is a fixed region, FAT spec §3.1
    /// BPB_RootEntCnt); FAT32 roots are ordinary cluster chains.
    root_entries: u16,
    /// Clusters the contents need, without the margin; checked against the formatted volume.
    needed_clusters: u64,
}

fn plan(spec: &EspSpec) -> Result<Plan> {
    let label = check_label(&spec.label)?;
    let mut root = PlanDir::default();
    let mut files = 0;
    let mut dirs = 0;
    for (path, source) in &spec.files {
        let size = source_size(path, source)?;
        insert(&mut root, path, source, size, &mut dirs)?;
        files += 1;
    }
    let geometry = geometry(&root, label.is_some())?;
    Ok(Plan {
        volume_id: volume_id(&root, &spec.label, spec.timestamp),
        time: fat_time(spec.timestamp)?,
        root,
        geometry,
        label,
        files,
        dirs,
    })
}

/// The size of a source, read once; a file of 4 GiB or more is rejected here, before any
/// bytes are written.
fn source_size(path: &str, source: &FileSource) -> Result<u64> {
    let size = match source {
        FileSource::Bytes(bytes) => bytes.len() as u64,
        FileSource::Path(on_disk) => {
            let read_err = |source| ImageError::EspReadSource {
                path: on_disk.clone(),
                source,
            };
            let meta = std::fs::metadata(on_disk).map_err(read_err)?;
            if !meta.is_file() {
                return Err(read_err(std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    "not a regular file",
                )));
            }
            meta.len()
        }
    };
    if size > MAX_FILE {
        return Err(ImageError::EspFileTooLarge {
            path: path.to_owned(),
            size,
        });
    }
    Ok(size)
}

/// Puts one file into the tree, creating its parents.
fn insert(
    root: &mut PlanDir,
    path: &str,
    source: &FileSource,
    size: u64,
    dirs: &mut usize,
) -> Result<()> {
    // A leading `/` is accepted, as `IsoTree` accepts it; every other component must be a name.
    let relative = path.strip_prefix('/').unwrap_or(path);
    let parts: Vec<&str> = relative.split('/').collect();
    for part in &parts {
        check_name(path, part)?;
    }
    let Some((last, parents)) = parts.split_last() else {
        return Err(invalid_path(path, "empty path"));
    };
    let mut dir = root;
    for part in parents {
        let node = dir.entries.entry(part.to_uppercase()).or_insert_with(|| {
            *dirs += 1;
            PlanNode::Dir(PlanDir {
                name: (*part).to_owned(),
                path: path.to_owned(),
                entries: BTreeMap::new(),
            })
        });
        // The same directory spelled in another case is a conflict, not a merge: the volume
        // could hold only one of the spellings.
        dir = match node {
            PlanNode::Dir(sub) => {
                if sub.name != *part {
                    return Err(conflict(path, &sub.path));
                }
                sub
            }
            PlanNode::File(file) => return Err(conflict(path, &file.path)),
        };
    }
    match dir.entries.get(&last.to_uppercase()) {
        Some(PlanNode::Dir(sub)) => Err(conflict(path, &sub.path)),
        Some(PlanNode::File(file)) => Err(conflict(path, &file.path)),
        None => {
            let file = PlanFile {
                name: (*last).to_owned(),
                path: path.to_owned(),
                source: source.clone(),
                size,
            };
            dir.entries
                .insert(last.to_uppercase(), PlanNode::File(file));
            Ok(())
        }
    }
}

fn conflict(path: &str, other: &str) -> ImageError {
    ImageError::EspPathConflict {
        path: path.to_owned(),
        other: other.to_owned(),
    }
}

fn invalid_path(path: &str, reason: &'static str) -> ImageError {
    ImageError::EspInvalidPath {
        path: path.to_owned(),
        reason,
    }
}

/// A FAT long name (FAT spec §7): at most 255 characters, none of `" * / : < > ? \ |` or
/// control characters. On top of the spec: the limit is 255 UTF-8 bytes and characters beyond
/// U+FFFF are refused, which is what `fatfs` accepts; a leading or trailing space and a trailing
/// dot are refused because Windows and Linux strip them, so the name would not round-trip.
fn check_name(path: &str, name: &str) -> Result<()> {
    let reason = if name.is_empty() {
        Some("empty path component")
    } else if name == "." || name == ".." {
        Some("`.` and `..` are not file names")
    } else if name.len() > 255 {
        Some("a name is longer than 255 bytes")
    } else if name.starts_with(' ') || name.ends_with(' ') || name.ends_with('.') {
        Some("a name starts or ends with a space, or ends with a dot")
    } else if !name.chars().all(fat_long_name_char) {
        Some("a name holds a character FAT long names cannot")
    } else {
        None
    };
    match reason {
        Some(reason) => Err(invalid_path(path, reason)),
        None => Ok(()),
    }
}

fn fat_long_name_char(ch: char) -> bool {
    match ch {
        '\0'..='\u{1f}' | '\u{7f}' => false,
        '"' | '*' | '/' | ':' | '<' | '>' | '?' | '\\' | '|' => false,
        _ => u32::from(ch) <= 0xFFFF,
    }
}

/// BS_VolLab (FAT spec §3.2/§3.3): 11 bytes, space-padded, with the characters of a short name
/// (§6). Lowercase is refused rather than folded, so the label on the volume is the one asked
/// for; `.` is refused because a label has no extension.
fn check_label(label: &str) -> Result<Option<[u8; 11]>> {
    if label.is_empty() {
        // fatfs then writes `NO NAME` and no root-directory label entry, as the spec says.
        return Ok(None);
    }
    let bad = |reason| ImageError::EspInvalidLabel {
        label: label.to_owned(),
        reason,
    };
    if label.len() > 11 {
        return Err(bad("longer than 11 characters"));
    }
    if label.starts_with(' ') {
        return Err(bad("starts with a space"));
    }
    let allowed = |byte: u8| {
        byte.is_ascii_uppercase() || byte.is_ascii_digit() || b" !#$%&'()-@^_`{}~".contains(&byte)
    };
    if !label.bytes().all(allowed) {
        return Err(bad(
            "holds a character other than A-Z, 0-9, space and ! # $ % & ' ( ) - @ ^ _ ` { } ~",
        ));
    }
    let mut out = [b' '; 11];
    out[..label.len()].copy_from_slice(label.as_bytes());
    Ok(Some(out))
}

/// How many 32-byte entries a name takes: `fatfs` writes long-name entries for every name (13
/// UTF-16 units each) plus the short entry (FAT spec §7).
fn slots(name: &str) -> u64 {
    let units = name.encode_utf16().count() as u64;
    1 + units.div_ceil(LFN_CHARS)
}

/// Chooses the FAT type, cluster size and volume size for the tree.
///
/// Candidates are tried from the smallest cluster up, FAT12/16 first: small clusters waste the
/// least, and FAT12/16 volumes can be small (see the module doc). Only past 65000 clusters of
/// 32 KiB (about 2 GiB) does the volume become FAT32, with 4 KiB clusters or more, the smallest
/// size that keeps the FAT32 minimum of 65525 clusters from bloating a mid-sized volume. 32 KiB
/// is the largest cluster the FAT spec (§3.1 BPB_SecPerClus) calls portable.
fn geometry(root: &PlanDir, labelled: bool) -> Result<Geometry> {
    // The FAT32 root is a cluster chain like any directory (no `.`/`..` entries, FAT spec §6);
    // the FAT12/16 root is a fixed region. A label takes one root entry (FAT spec §6,
    // ATTR_VOLUME_ID).
    let root_slots = root
        .entries
        .values()
        .map(|node| slots(node.name()))
        .sum::<u64>()
        + u64::from(labelled);
    let mut needed = 0;
    for cluster in [512u64, 1024, 2048, 4096, 8192, 16384, 32768] {
        // BPB_RootEntCnt: 512 is what mkfs.fat and fatfs default to (and the spec recommends for
        // FAT16); more if the root holds more, a multiple of 16 so it fills whole sectors.
        let root_entries = u16::try_from(root_slots.max(512).next_multiple_of(16)).ok();
        needed = clusters(root, cluster, 0);
        let count = needed.saturating_add(margin(needed));
        let Some(root_entries) = root_entries else {
            break;
        };
        let fat = if count <= FAT12_MAX {
            FatKind::Fat12
        } else if count <= FAT16_MAX {
            FatKind::Fat16
        } else {
            continue;
        };
        let count = if fat == FatKind::Fat16 {
            count.max(FAT16_MIN)
        } else {
            count
        };
        let root_sectors = (u64::from(root_entries) * DIR_ENTRY).div_ceil(SECTOR);
        return finish(fat, cluster, count, needed, root_sectors, root_entries);
    }
    for cluster in [4096u64, 8192, 16384, 32768] {
        let root_clusters = (root_slots * DIR_ENTRY).div_ceil(cluster).max(1);
        needed = clusters(root, cluster, root_clusters);
        let count = needed.saturating_add(margin(needed)).max(FAT32_MIN);
        if count <= FAT32_MAX {
            return finish(FatKind::Fat32, cluster, count, needed, 0, 0);
        }
    }
    Err(ImageError::EspTooLarge {
        needed: needed.saturating_mul(32768),
    })
}

/// Adds up the reserved region, the FATs and the data region for `count` clusters.
fn finish(
    fat: FatKind,
    cluster: u64,
    count: u64,
    needed: u64,
    root_sectors: u64,
    root_entries: u16,
) -> Result<Geometry> {
    // Reserved sectors as `fatfs` lays them out: the boot sector alone on FAT12/16; on FAT32
    // also FSInfo and the backup boot sector (BPB_BkBootSec = 6), 8 in all.
    let reserved = if fat == FatKind::Fat32 { 8 } else { 1 };
    // FAT spec §4: FAT12 entries are 1.5 bytes, FAT16 2, FAT32 4; entries 0 and 1 are reserved.
    let fat_bytes = match fat {
        FatKind::Fat12 => ((count + 2) * 3).div_ceil(2),
        FatKind::Fat16 => (count + 2) * 2,
        FatKind::Fat32 => (count + 2) * 4,
    };
    let fat_sectors = fat_bytes.div_ceil(SECTOR);
    let total_sectors = reserved + root_sectors + FATS * fat_sectors + count * (cluster / SECTOR);
    // BPB_TotSec32 is 32 bits (FAT spec §3.1).
    if total_sectors > u64::from(u32::MAX) {
        return Err(ImageError::EspTooLarge {
            needed: total_sectors.saturating_mul(SECTOR),
        });
    }
    Ok(Geometry {
        fat,
        cluster_size: u32::try_from(cluster).map_err(|_| ImageError::EspBug {
            what: format!("cluster size {cluster}"),
        })?,
        total_sectors,
        root_entries,
        needed_clusters: needed,
    })
}

/// Clusters that the files and the directories below `dir` take with `cluster`-byte clusters,
/// plus `extra` (the FAT32 root). A 0-byte file takes none (FAT spec §6: its DIR_FstClusLO/HI
/// are 0).
fn clusters(dir: &PlanDir, cluster: u64, extra: u64) -> u64 {
    let mut total = extra;
    for node in dir.entries.values() {
        total = total.saturating_add(match node {
            PlanNode::File(file) => file.size.div_ceil(cluster),
            PlanNode::Dir(sub) => {
                // `.` and `..` (FAT spec §6), then every entry of the subdirectory.
                let entries = 2 + sub.entries.values().map(|n| slots(n.name())).sum::<u64>();
                let own = (entries * DIR_ENTRY).div_ceil(cluster);
                own.saturating_add(clusters(sub, cluster, 0))
            }
        });
    }
    total
}

/// Spare clusters: the sizing above is exact for what `fatfs` writes today, and the margin is
/// there so that a change in how it allocates directory space fails no build.
fn margin(needed: u64) -> u64 {
    needed / 256 + 8
}

impl PlanNode {
    fn name(&self) -> &str {
        match self {
            PlanNode::Dir(dir) => &dir.name,
            PlanNode::File(file) => &file.name,
        }
    }
}

/// BS_VolID (FAT spec §3.2: "generated by simply combining the current date and time into a
/// 32-bit value"): kiln derives it from the label, the timestamp and the sorted file list
/// (paths and sizes, and the bytes of in-memory files) with FNV-1a, so it is reproducible yet
/// differs between different ESPs. Hashing every file's contents was rejected: it would read
/// kernels and initrds twice for a number nothing relies on.
fn volume_id(root: &PlanDir, label: &str, timestamp: i64) -> u32 {
    fn walk(dir: &PlanDir, hash: &mut Fnv) {
        for node in dir.entries.values() {
            match node {
                PlanNode::Dir(sub) => {
                    hash.write(sub.name.as_bytes());
                    hash.write(b"/");
                    walk(sub, hash);
                    hash.write(b"\0");
                }
                PlanNode::File(file) => {
                    hash.write(file.name.as_bytes());
                    hash.write(b"\0");
                    hash.write(&file.size.to_le_bytes());
                    if let FileSource::Bytes(bytes) = &file.source {
                        hash.write(bytes);
                    }
                }
            }
        }
    }
    let mut hash = Fnv::default();
    hash.write(label.as_bytes());
    hash.write(b"\0");
    hash.write(&timestamp.to_le_bytes());
    walk(root, &mut hash);
    let [a, b, c, d, e, f, g, h] = hash.0.to_le_bytes();
    u32::from_le_bytes([a ^ e, b ^ f, c ^ g, d ^ h])
}

/// 64-bit FNV-1a, as `iso/hybrid.rs` uses for its GUIDs.
struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv {
    fn write(&mut self, bytes: &[u8]) {
        for byte in bytes {
            self.0 = (self.0 ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3);
        }
    }
}

/// The first and last moments FAT can record: years are stored as 1980 + 0..=127 (FAT spec
/// §6, "Date/Time Formats"). Times are UTC, since FAT has no time zone field.
const FAT_FIRST: i64 = 315_532_800; // 1980-01-01T00:00:00Z
const FAT_LAST: i64 = 4_354_819_199; // 2107-12-31T23:59:59Z

fn fat_time(timestamp: i64) -> Result<fatfs::DateTime> {
    let civil = Civil::from_epoch(timestamp.clamp(FAT_FIRST, FAT_LAST))?;
    let bug = |what: &str| ImageError::EspBug {
        what: format!("timestamp {timestamp}: {what}"),
    };
    Ok(fatfs::DateTime {
        date: fatfs::Date {
            year: u16::try_from(civil.year).map_err(|_| bug("year"))?,
            month: u16::from(civil.month),
            day: u16::from(civil.day),
        },
        time: fatfs::Time {
            hour: u16::from(civil.hour),
            min: u16::from(civil.minute),
            sec: u16::from(civil.second),
            millis: 0,
        },
    })
}

// ---- writing ----

thread_local! {
    /// The time `fatfs` stamps on entries created on this thread; set for the duration of one
    /// write by [`ClockGuard`].
    static NOW: Cell<fatfs::DateTime> = const { Cell::new(FAT_EPOCH) };
}

const FAT_EPOCH: fatfs::DateTime = fatfs::DateTime {
    date: fatfs::Date {
        year: 1980,
        month: 1,
        day: 1,
    },
    time: fatfs::Time {
        hour: 0,
        min: 0,
        sec: 0,
        millis: 0,
    },
};

/// `fatfs` asks a `&'static dyn TimeProvider` for "now" whenever it creates or writes an entry.
/// It runs on the calling thread only (its file system is neither `Send` nor `Sync`), so a
/// thread-local set around the write gives every entry the spec's timestamp without leaking a
/// provider per image.
#[derive(Debug)]
struct SpecClock;

impl fatfs::TimeProvider for SpecClock {
    fn get_current_date(&self) -> fatfs::Date {
        NOW.with(|now| now.get().date)
    }

    fn get_current_date_time(&self) -> fatfs::DateTime {
        NOW.with(Cell::get)
    }
}

static SPEC_CLOCK: SpecClock = SpecClock;

/// Sets [`NOW`] and puts the previous value back when dropped, also on errors.
struct ClockGuard(fatfs::DateTime);

impl ClockGuard {
    fn set(time: fatfs::DateTime) -> ClockGuard {
        ClockGuard(NOW.with(|now| now.replace(time)))
    }
}

impl Drop for ClockGuard {
    fn drop(&mut self) {
        NOW.with(|now| now.set(self.0));
    }
}

/// Copy buffer for file data; `fatfs` splits writes at cluster boundaries anyway.
const CHUNK: usize = 1 << 20;

/// Creates the temporary image file, fills it and syncs it.
fn write_file(plan: &Plan, tmp: &Path) -> Result<()> {
    let write_err = |source| ImageError::EspWrite {
        path: tmp.to_path_buf(),
        source,
    };
    // Read and write: `fatfs` reads back the FAT and directories it has written.
    let mut file = File::options()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(tmp)
        .map_err(write_err)?;
    // A fresh file extended with `set_len` reads as zeros, so unused clusters are zero and the
    // bytes do not depend on what the disk held before.
    file.set_len(plan.size()).map_err(write_err)?;
    write_volume(plan, &mut file, tmp)?;
    // No fsync: like xorriso, mksquashfs and Nix's builds, the bytes reach the disk when the
    // kernel writes them back (a crash before that is what `kiln store verify` finds); a full
    // disk fails the write itself.
    file.flush().map_err(write_err)
}

/// Formats `disk` (zero-filled, `plan.size()` bytes) and writes the tree into it.
fn write_volume<D: Read + Write + Seek>(plan: &Plan, disk: &mut D, image: &Path) -> Result<()> {
    let _clock = ClockGuard::set(plan.time);
    let fat_err = |entry: &str| {
        let image = image.to_path_buf();
        let entry = entry.to_owned();
        move |source| ImageError::EspFat {
            image,
            entry,
            source,
        }
    };
    let bug = |what: String| ImageError::EspBug { what };
    let total_sectors = u32::try_from(plan.geometry.total_sectors)
        .map_err(|_| bug(format!("{} sectors", plan.geometry.total_sectors)))?;
    let mut format = fatfs::FormatVolumeOptions::new()
        .total_sectors(total_sectors)
        .bytes_per_cluster(plan.geometry.cluster_size)
        .fats(u8::try_from(FATS).map_err(|_| bug(format!("{FATS} FATs")))?)
        .volume_id(plan.volume_id);
    if plan.geometry.fat != FatKind::Fat32 {
        format = format.max_root_dir_entries(plan.geometry.root_entries);
    }
    if let Some(label) = plan.label {
        format = format.volume_label(label);
    }
    disk.seek(SeekFrom::Start(0)).map_err(fat_err("/"))?;
    fatfs::format_volume(&mut *disk, format).map_err(fat_err("/"))?;
    disk.seek(SeekFrom::Start(0)).map_err(fat_err("/"))?;
    let options = fatfs::FsOptions::new()
        .time_provider(&SPEC_CLOCK)
        // Reading a file must not change the image; kiln never reads back here, but be explicit.
        .update_accessed_date(false);
    let fs = fatfs::FileSystem::new(&mut *disk, options).map_err(fat_err("/"))?;
    let planned = match plan.geometry.fat {
        FatKind::Fat12 => fatfs::FatType::Fat12,
        FatKind::Fat16 => fatfs::FatType::Fat16,
        FatKind::Fat32 => fatfs::FatType::Fat32,
    };
    let stats = fs.stats().map_err(fat_err("/"))?;
    if fs.fat_type() != planned || u64::from(stats.total_clusters()) < plan.geometry.needed_clusters
    {
        return Err(bug(format!(
            "planned {:?} with at least {} clusters, fatfs formatted {:?} with {}",
            plan.geometry.fat,
            plan.geometry.needed_clusters,
            fs.fat_type(),
            stats.total_clusters()
        )));
    }
    write_dir(&fs.root_dir(), &plan.root, image)?;
    fs.unmount().map_err(fat_err("/"))?;
    dots::fix_dot_entries(disk, plan.geometry.fat, image)
}

/// Creates the entries of `node` inside `dir`, in sorted order, recursing into directories.
fn write_dir<T: fatfs::ReadWriteSeek>(
    dir: &fatfs::Dir<'_, T>,
    node: &PlanDir,
    image: &Path,
) -> Result<()> {
    for entry in node.entries.values() {
        match entry {
            PlanNode::Dir(sub) => {
                let fat_dir = dir
                    .create_dir(&sub.name)
                    .map_err(|source| ImageError::EspFat {
                        image: image.to_path_buf(),
                        entry: sub.path.clone(),
                        source,
                    })?;
                write_dir(&fat_dir, sub, image)?;
            }
            PlanNode::File(file) => write_file_entry(dir, file, image)?,
        }
    }
    Ok(())
}

/// Creates one file and copies its bytes, checking that the source still has the planned size.
fn write_file_entry<T: fatfs::ReadWriteSeek>(
    dir: &fatfs::Dir<'_, T>,
    file: &PlanFile,
    image: &Path,
) -> Result<()> {
    let fat_err = |source| ImageError::EspFat {
        image: image.to_path_buf(),
        entry: file.path.clone(),
        source,
    };
    let mut out = dir.create_file(&file.name).map_err(fat_err)?;
    match &file.source {
        FileSource::Bytes(bytes) => out.write_all(bytes).map_err(fat_err)?,
        FileSource::Path(path) => {
            let read_err = |source| ImageError::EspReadSource {
                path: path.clone(),
                source,
            };
            let changed = |found| ImageError::EspSourceChanged {
                path: path.clone(),
                planned: file.size,
                found,
            };
            let mut input = File::open(path).map_err(read_err)?;
            let mut buf = vec![
                0u8;
                CHUNK
                    .min(usize::try_from(file.size).unwrap_or(CHUNK))
                    .max(1)
            ];
            let mut done = 0u64;
            loop {
                let n = input.read(&mut buf).map_err(read_err)?;
                if n == 0 {
                    break;
                }
                if done + n as u64 > file.size {
                    return Err(changed(done + n as u64));
                }
                out.write_all(&buf[..n]).map_err(fat_err)?;
                done += n as u64;
            }
            if done != file.size {
                return Err(changed(done));
            }
        }
    }
    // The directory entry (size, first cluster) is written on flush; do it here so an error is
    // reported instead of being logged by `Drop`.
    out.flush().map_err(fat_err)
}

#[cfg(test)]
mod tests;
