//! Layout planning: every block of the image gets its purpose and address before anything is
//! written, so each write knows its offset and the writes can run in parallel.
//!
//! The image, in LBA order (2048-byte blocks):
//!
//! | blocks | content | clause |
//! | --- | --- | --- |
//! | 0..16 | system area (isohybrid MBR/GPT or zeros) | ECMA-119 6.2.1 |
//! | 16 | primary volume descriptor | 8.4 |
//! | 17 | boot record (only with El Torito) | 8.2, El Torito 2.0 |
//! | next | volume descriptor set terminator | 8.3 |
//! | next | type L path table, then type M path table | 6.9, 9.4 |
//! | next | boot catalog (only with El Torito) | El Torito 2.0 |
//! | next | directories, breadth first (path table order) | 6.8, 9.1 |
//! | next | Rock Ridge continuation areas | SUSP 5.1 |
//! | rest | file data, in directory order, each extent block aligned | 6.5 |
//!
//! Directories are visited breadth first with children in ECMA-119 9.3 order, which is exactly
//! the path table order of 6.9.1 (level, then parent number, then identifier).

use std::collections::VecDeque;

use crate::error::{ImageError, Result};
use crate::iso::hybrid;
use crate::iso::names::{ecma_order, iso_identifiers};
use crate::iso::records::{dir_record_base_len, narrow, Civil, SECTOR, SECTOR_U64};
use crate::iso::susp::{self, Packed, CE_LEN};
use crate::iso::{FileSource, IsoDir, IsoNode, IsoSpec};

/// First block after the system area (ECMA-119 6.2.1: 16 blocks).
const FIRST_DESCRIPTOR: u32 = 16;

/// The complete plan of an image.
pub(crate) struct Plan {
    pub(crate) volume_id: String,
    /// Directories in path table order; index 0 is the root.
    pub(crate) dirs: Vec<PlanDir>,
    /// Regular files in data order.
    pub(crate) files: Vec<PlanFile>,
    pub(crate) boot_record_lba: Option<u32>,
    pub(crate) terminator_lba: u32,
    pub(crate) path_table_size: u32,
    pub(crate) l_path_table_lba: u32,
    pub(crate) m_path_table_lba: u32,
    pub(crate) catalog_lba: Option<u32>,
    pub(crate) ce_lba: u32,
    /// Continuation area bytes, block aligned, written at `ce_lba`.
    pub(crate) ce_region: Vec<u8>,
    /// First block of file data; everything before it is metadata built in memory.
    pub(crate) data_lba: u32,
    /// Total number of blocks (ECMA-119 8.4.8 volume space size).
    pub(crate) volume_blocks: u32,
    /// ECMA-119 9.1.5 date of every record.
    pub(crate) short_date: [u8; 7],
    pub(crate) long_date: [u8; 17],
    /// Index into `files` of the BIOS and EFI boot images.
    pub(crate) bios_file: Option<usize>,
    pub(crate) efi_file: Option<usize>,
}

/// One directory and its records.
pub(crate) struct PlanDir {
    /// The ISO identifier in the parent (`\0` for the root, as in the path table, 9.4.5).
    pub(crate) identifier: Vec<u8>,
    /// Index of the parent in `Plan::dirs` (the root is its own parent).
    pub(crate) parent: usize,
    pub(crate) lba: u32,
    /// Extent size in bytes, a whole number of blocks.
    pub(crate) size: u32,
    pub(crate) records: Vec<PlanRecord>,
}

/// What a directory record points at.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Target {
    Dir(usize),
    File(usize),
    Symlink,
    Catalog,
}

/// One directory record, with its Rock Ridge system use split and placed.
pub(crate) struct PlanRecord {
    pub(crate) identifier: Vec<u8>,
    pub(crate) target: Target,
    pub(crate) su: Packed,
    /// Where `su.continued` lives: (block, offset within it), once placed.
    pub(crate) ce_at: Option<(u32, u32)>,
}

/// One regular file's extent.
pub(crate) struct PlanFile {
    /// Path in the tree, for errors and for boot file lookup.
    pub(crate) path: String,
    pub(crate) source: FileSource,
    pub(crate) size: u64,
    pub(crate) lba: u32,
}

/// A child found while walking a directory, before addresses are known.
enum Child<'a> {
    Dir(&'a IsoDir),
    File(u32, &'a FileSource),
    Symlink(u32, &'a str),
    Catalog,
}

/// Plans the whole image.
pub(crate) fn plan(spec: &IsoSpec) -> Result<Plan> {
    let civil = Civil::from_epoch(spec.timestamp)?;
    let date = civil.short();
    let with_boot = spec.boot.bios_image.is_some() || spec.boot.efi_image.is_some();
    let catalog_path = if with_boot {
        Some(
            spec.boot
                .catalog_path
                .clone()
                .unwrap_or_else(|| "boot.catalog".to_owned()),
        )
    } else {
        None
    };

    let mut dirs: Vec<PlanDir> = Vec::new();
    let mut files: Vec<PlanFile> = Vec::new();
    // (tree dir, its path, parent index, identifier, parent mode)
    let mut queue: VecDeque<(&IsoDir, String, usize, Vec<u8>, u32)> = VecDeque::new();
    queue.push_back((
        &spec.tree.root,
        String::new(),
        0,
        vec![0],
        spec.tree.root.mode,
    ));
    while let Some((dir, path, parent, identifier, parent_mode)) = queue.pop_front() {
        let index = dirs.len();
        let mut children: Vec<(String, Child<'_>)> = dir
            .entries
            .iter()
            .map(|(name, node)| {
                let child = match node {
                    IsoNode::Dir(sub) => Child::Dir(sub),
                    // Only permission bits are taken from the tree; the type comes from the variant.
                    IsoNode::File { mode, source } => Child::File(*mode & 0o7777, source),
                    IsoNode::Symlink { mode, target } => Child::Symlink(*mode & 0o7777, target),
                };
                (name.clone(), child)
            })
            .collect();
        if let Some(cat) = &catalog_path {
            let (cat_dir, cat_name) = cat.rsplit_once('/').unwrap_or(("", cat.as_str()));
            if cat_dir.trim_matches('/') == path && !dir.entries.contains_key(cat_name) {
                children.push((cat_name.to_owned(), Child::Catalog));
                children.sort_by(|a, b| a.0.cmp(&b.0));
            }
        }
        let kinds: Vec<(&str, bool)> = children
            .iter()
            .map(|(name, child)| (name.as_str(), matches!(child, Child::Dir(_))))
            .collect();
        let ids = iso_identifiers(&kinds);
        let mut order: Vec<usize> = (0..children.len()).collect();
        order.sort_by_cached_key(|idx| ecma_order(&ids[*idx]));

        let subdirs = children
            .iter()
            .filter(|(_, child)| matches!(child, Child::Dir(_)))
            .count();
        let links = narrow::<u32>("Rock Ridge PX links", 2 + subdirs as u64)?;
        let here_path = if path.is_empty() {
            "/".to_owned()
        } else {
            format!("/{path}")
        };
        let mut records = Vec::with_capacity(children.len() + 2);

        // `.` (9.1.11: identifier 0x00); the root's carries SP, RR and ER (SUSP 5.3, 5.5).
        let mut dot_entries = Vec::new();
        if index == 0 {
            dot_entries.push(susp::sp());
        }
        dot_entries.push(susp::rr(false, false));
        dot_entries.push(susp::px(susp::S_IFDIR | (dir.mode & 0o7777), links));
        dot_entries.push(susp::tf(date));
        if index == 0 {
            dot_entries.push(susp::er());
        }
        records.push(record(
            vec![0],
            Target::Dir(index),
            dot_entries,
            &here_path,
        )?);
        // `..` (identifier 0x01); the parent's link count is not known here and readers take
        // it from the parent's own `.` record, so 2 is written.
        let dotdot = vec![
            susp::rr(false, false),
            susp::px(susp::S_IFDIR | (parent_mode & 0o7777), 2),
            susp::tf(date),
        ];
        records.push(record(vec![1], Target::Dir(parent), dotdot, &here_path)?);

        let mut next_dir = index + 1 + queue.len();
        for idx in order {
            let (name, child) = &children[idx];
            let child_path = if path.is_empty() {
                name.clone()
            } else {
                format!("{path}/{name}")
            };
            let identifier = ids[idx].clone();
            let mut entries = Vec::new();
            let (target, mode, links, link_target) = match child {
                Child::Dir(sub) => {
                    let target = Target::Dir(next_dir);
                    next_dir += 1;
                    let sub_links = 2 + sub
                        .entries
                        .values()
                        .filter(|node| matches!(node, IsoNode::Dir(_)))
                        .count();
                    queue.push_back((sub, child_path.clone(), index, identifier.clone(), dir.mode));
                    (
                        target,
                        susp::S_IFDIR | (sub.mode & 0o7777),
                        narrow::<u32>("Rock Ridge PX links", sub_links as u64)?,
                        None,
                    )
                }
                Child::File(mode, source) => {
                    let size = source_size(&child_path, source)?;
                    files.push(PlanFile {
                        path: child_path.clone(),
                        source: (*source).clone(),
                        size,
                        lba: 0,
                    });
                    (Target::File(files.len() - 1), susp::S_IFREG | mode, 1, None)
                }
                Child::Symlink(mode, target) => {
                    (Target::Symlink, susp::S_IFLNK | mode, 1, Some(*target))
                }
                Child::Catalog => (Target::Catalog, susp::S_IFREG | 0o444, 1, None),
            };
            entries.push(susp::rr(link_target.is_some(), true));
            entries.push(susp::px(mode, links));
            entries.push(susp::tf(date));
            entries.extend(susp::nm(name.as_bytes()));
            if let Some(link) = link_target {
                entries.extend(susp::sl(link));
            }
            records.push(record(identifier, target, entries, &child_path)?);
        }
        dirs.push(PlanDir {
            identifier,
            parent,
            lba: 0,
            size: 0,
            records,
        });
    }

    // Path table size (9.4): 8 bytes per record plus the identifier, padded to even.
    let path_table_size: u64 = dirs
        .iter()
        .map(|dir| 8 + dir.identifier.len() as u64 + dir.identifier.len() as u64 % 2)
        .sum();
    let path_table_blocks = blocks(path_table_size);

    let mut next = FIRST_DESCRIPTOR + 1;
    let boot_record_lba = with_boot.then(|| {
        next += 1;
        next - 1
    });
    let terminator_lba = next;
    next += 1;
    let l_path_table_lba = next;
    next = add_blocks(next, path_table_blocks)?;
    let m_path_table_lba = next;
    next = add_blocks(next, path_table_blocks)?;
    let catalog_lba = with_boot.then(|| {
        next += 1;
        next - 1
    });

    // Directory extents: records never cross a block boundary (ECMA-119 6.8.1.1).
    for dir in &mut dirs {
        let mut offset = 0usize;
        for rec in &dir.records {
            let len = record_len(rec);
            if offset % SECTOR + len > SECTOR {
                offset += SECTOR - offset % SECTOR;
            }
            offset += len;
        }
        let dir_blocks = blocks(offset as u64);
        dir.lba = next;
        dir.size = narrow("directory data length (9.1.4)", dir_blocks * SECTOR_U64)?;
        next = add_blocks(next, dir_blocks)?;
    }

    // Continuation areas, packed so that none crosses a block boundary (SUSP 5.1).
    let ce_lba = next;
    let mut ce_region: Vec<u8> = Vec::new();
    for dir in &mut dirs {
        for rec in &mut dir.records {
            let len = rec.su.continued.len();
            if len == 0 {
                continue;
            }
            if ce_region.len() % SECTOR + len > SECTOR {
                ce_region.resize(ce_region.len() + SECTOR - ce_region.len() % SECTOR, 0);
            }
            let block = narrow::<u32>("continuation block", (ce_region.len() / SECTOR) as u64)?;
            let offset = narrow::<u32>("continuation offset", (ce_region.len() % SECTOR) as u64)?;
            rec.ce_at = Some((ce_lba + block, offset));
            ce_region.extend_from_slice(&rec.su.continued);
        }
    }
    let ce_blocks = blocks(ce_region.len() as u64);
    ce_region.resize(usize::try_from(ce_blocks).unwrap_or(0) * SECTOR, 0);
    next = add_blocks(next, ce_blocks)?;

    let data_lba = next;
    for file in &mut files {
        file.lba = next;
        next = add_blocks(next, blocks(file.size))?;
    }

    // isohybrid: room for the backup GPT, then whole MiB (iso/hybrid.rs).
    if let Some(template) = &spec.boot.hybrid_mbr {
        if !(432..=512).contains(&template.len()) {
            return Err(ImageError::IsoHybridMbrSize {
                size: template.len(),
            });
        }
        if spec.boot.hybrid_gpt {
            next = add_blocks(next, blocks(hybrid::GPT_TAIL_SECTORS * 512))?;
        }
        let align = hybrid::ALIGN_BYTES / SECTOR_U64;
        next = add_blocks(next, (align - u64::from(next) % align) % align)?;
    }

    let find = |wanted: &Option<String>| -> Result<Option<usize>> {
        let Some(wanted) = wanted else {
            return Ok(None);
        };
        let clean = wanted.trim_matches('/');
        match files.iter().position(|file| file.path == clean) {
            Some(idx) => Ok(Some(idx)),
            None => Err(ImageError::IsoBootFileMissing {
                path: wanted.clone(),
            }),
        }
    };
    let bios_file = find(&spec.boot.bios_image)?;
    let efi_file = find(&spec.boot.efi_image)?;
    if let Some(idx) = bios_file {
        if files[idx].size < 64 {
            return Err(ImageError::IsoBootImageTooSmall {
                path: files[idx].path.clone(),
                size: files[idx].size,
            });
        }
    }

    Ok(Plan {
        volume_id: spec.volume_id.as_str().to_owned(),
        dirs,
        files,
        boot_record_lba,
        terminator_lba,
        path_table_size: narrow("path table size (8.4.13)", path_table_size)?,
        l_path_table_lba,
        m_path_table_lba,
        catalog_lba,
        ce_lba,
        ce_region,
        data_lba,
        volume_blocks: next,
        short_date: date,
        long_date: civil.long(),
        bios_file,
        efi_file,
    })
}

/// Builds a record, splitting its Rock Ridge entries between the record and a continuation.
fn record(
    identifier: Vec<u8>,
    target: Target,
    entries: Vec<Vec<u8>>,
    path: &str,
) -> Result<PlanRecord> {
    // 9.1.1: the record length is one byte and even, so at most 254.
    let room = 254 - dir_record_base_len(identifier.len());
    let su = susp::pack(entries, room, path)?;
    Ok(PlanRecord {
        identifier,
        target,
        su,
        ce_at: None,
    })
}

/// The encoded length of a record, including the `CE` entry if it has a continuation.
pub(crate) fn record_len(rec: &PlanRecord) -> usize {
    let ce = if rec.su.continued.is_empty() {
        0
    } else {
        CE_LEN
    };
    let raw = dir_record_base_len(rec.identifier.len()) + rec.su.inline.len() + ce;
    raw + raw % 2
}

/// Number of 2048-byte blocks needed for `bytes`.
fn blocks(bytes: u64) -> u64 {
    bytes.div_ceil(SECTOR_U64)
}

/// Advances an LBA, failing if the image would pass 2^32 blocks (8 TiB).
fn add_blocks(lba: u32, count: u64) -> Result<u32> {
    narrow("logical block address (9.1.3)", u64::from(lba) + count)
}

/// The size of a file's data, checked against the 32-bit data length of ECMA-119 9.1.4.
fn source_size(path: &str, source: &FileSource) -> Result<u64> {
    let size = match source {
        FileSource::Bytes(bytes) => bytes.len() as u64,
        FileSource::Path(file) => std::fs::metadata(file)
            .map_err(|source| ImageError::IsoReadSource {
                path: file.clone(),
                source,
            })?
            .len(),
    };
    if size > u64::from(u32::MAX) {
        return Err(ImageError::IsoFileTooLarge {
            path: format!("/{path}"),
            size,
        });
    }
    Ok(size)
}
