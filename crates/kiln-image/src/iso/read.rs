//! A small ISO 9660 + Rock Ridge + El Torito reader, for round-trip tests and for checking what
//! the writer produced. It reads only what kiln writes (single extents, SUSP with `CE`), and
//! reports anything else as `ImageError::IsoMalformed` instead of panicking.

use std::collections::BTreeMap;

use crate::error::{ImageError, Result};

/// A tree node read back from an image, keyed by Rock Ridge name in its parent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReadNode {
    Dir {
        mode: u32,
        entries: BTreeMap<String, ReadNode>,
    },
    File {
        mode: u32,
        data: Vec<u8>,
    },
    Symlink {
        mode: u32,
        target: String,
    },
}

/// One El Torito catalog entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReadBootEntry {
    /// 0 for x86 BIOS, 0xEF for UEFI.
    pub platform: u8,
    pub lba: u32,
    pub sectors: u16,
}

/// An image read back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReadImage {
    pub volume_id: String,
    pub root: ReadNode,
    pub boot: Vec<ReadBootEntry>,
}

fn bad(what: impl Into<String>) -> ImageError {
    ImageError::IsoMalformed { what: what.into() }
}

fn slice(image: &[u8], start: u64, len: u64) -> Result<&[u8]> {
    let start = usize::try_from(start).map_err(|_| bad("offset beyond memory"))?;
    let len = usize::try_from(len).map_err(|_| bad("length beyond memory"))?;
    image
        .get(start..start.saturating_add(len))
        .ok_or_else(|| bad(format!("range {start}+{len} outside the image")))
}

fn le32(bytes: &[u8], at: usize) -> Result<u32> {
    let word = bytes
        .get(at..at + 4)
        .ok_or_else(|| bad("truncated 32-bit field"))?;
    Ok(u32::from_le_bytes([word[0], word[1], word[2], word[3]]))
}

/// Reads a whole image held in memory.
pub fn read_iso(image: &[u8]) -> Result<ReadImage> {
    let pvd = slice(image, 16 * 2048, 2048)?;
    if pvd[0] != 1 || &pvd[1..6] != b"CD001" {
        return Err(bad("no primary volume descriptor at block 16"));
    }
    let volume_id = String::from_utf8_lossy(&pvd[40..72]).trim_end().to_owned();
    let root = &pvd[156..190];
    let root_lba = le32(root, 2)?;
    let root_len = le32(root, 10)?;
    let root = read_dir(image, root_lba, root_len, 0o755, 0)?;

    let mut boot = Vec::new();
    let br = slice(image, 17 * 2048, 2048)?;
    if br[0] == 0 && &br[7..30] == b"EL TORITO SPECIFICATION" {
        let cat = slice(image, u64::from(le32(br, 0x47)?) * 2048, 2048)?;
        let mut platform = cat[1];
        for entry in cat.chunks_exact(32).skip(1) {
            match entry[0] {
                0x88 => boot.push(ReadBootEntry {
                    platform,
                    lba: le32(entry, 8)?,
                    sectors: u16::from_le_bytes([entry[6], entry[7]]),
                }),
                0x90 | 0x91 => platform = entry[1],
                _ => break,
            }
        }
    }
    Ok(ReadImage {
        volume_id,
        root,
        boot,
    })
}

/// Rock Ridge fields gathered from one record's system use area.
#[derive(Default)]
struct Rr {
    mode: Option<u32>,
    name: Vec<u8>,
    link: Option<String>,
}

fn read_dir(
    image: &[u8],
    lba: u32,
    len: u32,
    fallback_mode: u32,
    depth: usize,
) -> Result<ReadNode> {
    if depth > 64 {
        return Err(bad("directory nesting deeper than 64"));
    }
    let extent = slice(image, u64::from(lba) * 2048, u64::from(len))?;
    let mut entries = BTreeMap::new();
    let mut mode = fallback_mode;
    let mut pos = 0usize;
    while pos < extent.len() {
        let rec_len = usize::from(extent[pos]);
        if rec_len == 0 {
            pos = (pos / 2048 + 1) * 2048;
            continue;
        }
        let rec = extent
            .get(pos..pos + rec_len)
            .ok_or_else(|| bad("directory record crosses the extent"))?;
        pos += rec_len;
        if rec.len() < 34 {
            return Err(bad("directory record shorter than 34 bytes"));
        }
        let id_len = usize::from(rec[32]);
        let identifier = rec
            .get(33..33 + id_len)
            .ok_or_else(|| bad("identifier past record"))?;
        let su_start = 33 + id_len + usize::from(id_len & 1 == 0);
        let rr = parse_susp(image, rec.get(su_start..).unwrap_or(&[]))?;
        if identifier == [0] {
            if let Some(m) = rr.mode {
                mode = m & 0o7777;
            }
            continue;
        }
        if identifier == [1] {
            continue;
        }
        let name = if rr.name.is_empty() {
            String::from_utf8_lossy(identifier)
                .trim_end_matches(";1")
                .to_owned()
        } else {
            String::from_utf8_lossy(&rr.name).into_owned()
        };
        let child_lba = le32(rec, 2)?;
        let child_len = le32(rec, 10)?;
        let perm = rr.mode.unwrap_or(0o644) & 0o7777;
        let node = if rec[25] & 0x02 != 0 {
            read_dir(image, child_lba, child_len, perm, depth + 1)?
        } else if let Some(target) = rr.link {
            ReadNode::Symlink { mode: perm, target }
        } else {
            let data = slice(image, u64::from(child_lba) * 2048, u64::from(child_len))?.to_vec();
            ReadNode::File { mode: perm, data }
        };
        entries.insert(name, node);
    }
    Ok(ReadNode::Dir { mode, entries })
}

/// Parses SUSP entries, following `CE` continuations (SUSP 5.1) at most 16 times.
fn parse_susp(image: &[u8], first: &[u8]) -> Result<Rr> {
    let mut rr = Rr::default();
    let mut area = first.to_vec();
    let mut link = String::new();
    let mut link_pending_sep = false;
    for _ in 0..16 {
        let mut next = None;
        let mut pos = 0usize;
        while pos + 4 <= area.len() {
            let len = usize::from(area[pos + 2]);
            if len < 4 {
                break;
            }
            let entry = area
                .get(pos..pos + len)
                .ok_or_else(|| bad("SUSP entry past its area"))?;
            pos += len;
            match &entry[..2] {
                b"PX" => rr.mode = Some(le32(entry, 4)?),
                b"NM" => rr.name.extend_from_slice(entry.get(5..).unwrap_or(&[])),
                b"CE" => next = Some((le32(entry, 4)?, le32(entry, 12)?, le32(entry, 20)?)),
                b"SL" => {
                    let mut at = 5;
                    while at + 2 <= entry.len() {
                        let flags = entry[at];
                        let clen = usize::from(entry[at + 1]);
                        let content = entry
                            .get(at + 2..at + 2 + clen)
                            .ok_or_else(|| bad("SL component"))?;
                        at += 2 + clen;
                        if link_pending_sep {
                            link.push('/');
                        }
                        match flags & !1 {
                            0x02 => link.push('.'),
                            0x04 => link.push_str(".."),
                            0x08 => link.push('/'),
                            _ => link.push_str(&String::from_utf8_lossy(content)),
                        }
                        // A root component or a continued component is not followed by '/'.
                        link_pending_sep = flags & 0x08 == 0 && flags & 1 == 0;
                    }
                    rr.link = Some(link.clone());
                }
                b"ST" => break,
                _ => {}
            }
        }
        match next {
            Some((lba, off, len)) => {
                area = slice(
                    image,
                    u64::from(lba) * 2048 + u64::from(off),
                    u64::from(len),
                )?
                .to_vec()
            }
            None => return Ok(rr),
        }
    }
    Err(bad("more than 16 chained continuation areas"))
}
