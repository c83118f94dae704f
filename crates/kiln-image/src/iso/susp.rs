//! System Use Sharing Protocol (SUSP 1.12, IEEE P1281) and Rock Ridge (RRIP 1.10 / `RRIP_1991A`,
//! IEEE P1282) entries, and the packing of them into a directory record's system use field with
//! a `CE` continuation area when they do not fit.
//!
//! Every entry is `signature(2) length(1) version(1) data` (SUSP 4.1). kiln writes:
//! `SP` (SUSP 5.3) and `ER` (5.5) in the root's `.` record, `RR` (RRIP 1.10 4.1.7, a hint some
//! readers still want), `PX` (4.1.1), `TF` (4.1.6), `NM` (4.1.4) and `SL` (4.1.3).

use crate::error::{ImageError, Result};
use crate::iso::records::{both_u32, SECTOR};

/// POSIX file type bits for `PX` (RRIP 4.1.1 uses `st_mode`).
pub(crate) const S_IFDIR: u32 = 0o040_000;
pub(crate) const S_IFREG: u32 = 0o100_000;
pub(crate) const S_IFLNK: u32 = 0o120_000;

/// SUSP 5.1 `CE` is 28 bytes; it is always the last entry of the record.
pub(crate) const CE_LEN: usize = 28;

/// SUSP 5.3 `SP`: marks SUSP use, with check bytes BE EF and no bytes skipped.
pub(crate) fn sp() -> Vec<u8> {
    vec![b'S', b'P', 7, 1, 0xBE, 0xEF, 0]
}

/// RRIP 1.10 4.1.7 `RR`: which Rock Ridge entries this record carries (PX=1, SL=4, NM=8, TF=0x80).
pub(crate) fn rr(has_sl: bool, has_nm: bool) -> Vec<u8> {
    let flags = 0x01 | 0x80 | if has_sl { 0x04 } else { 0 } | if has_nm { 0x08 } else { 0 };
    vec![b'R', b'R', 5, 1, flags]
}

/// SUSP 5.5 `ER`: names the extension (`RRIP_1991A`, RRIP 1.10 section 5).
pub(crate) fn er() -> Vec<u8> {
    const ID: &[u8] = b"RRIP_1991A";
    const DESC: &[u8] =
        b"THE ROCK RIDGE INTERCHANGE PROTOCOL PROVIDES SUPPORT FOR POSIX FILE SYSTEM SEMANTICS";
    const SRC: &[u8] = b"PLEASE CONTACT DISC PUBLISHER FOR SPECIFICATION SOURCE.  SEE PUBLISHER IDENTIFIER IN PRIMARY VOLUME DESCRIPTOR FOR CONTACT INFORMATION.";
    let len = 8 + ID.len() + DESC.len() + SRC.len();
    // All three texts are constants; their total (237) fits the one-byte length.
    let mut out = vec![b'E', b'R', u8::try_from(len).unwrap_or(0), 1];
    out.extend([10u8, 84, 135, 1]);
    out.extend_from_slice(ID);
    out.extend_from_slice(DESC);
    out.extend_from_slice(SRC);
    out
}

/// RRIP 1.10 4.1.1 `PX`: mode, links, uid, gid (36 bytes; the 1.12 serial number is omitted).
pub(crate) fn px(mode: u32, links: u32) -> Vec<u8> {
    let mut out = vec![0u8; 36];
    out[..4].copy_from_slice(&[b'P', b'X', 36, 1]);
    both_u32(&mut out[4..12], mode);
    both_u32(&mut out[12..20], links);
    // uid and gid stay 0 (root), as in a reproducible cpio.
    out
}

/// RRIP 1.10 4.1.6 `TF`: modify, access and attribute-change times in 7-byte form.
pub(crate) fn tf(date: [u8; 7]) -> Vec<u8> {
    let mut out = vec![b'T', b'F', 26, 1, 0x02 | 0x04 | 0x08];
    for _ in 0..3 {
        out.extend_from_slice(&date);
    }
    out
}

/// RRIP 1.10 4.1.4 `NM`: the real name, split into several entries (flag CONTINUE = 1) when
/// it is longer than one entry can hold.
pub(crate) fn nm(name: &[u8]) -> Vec<Vec<u8>> {
    const MAX_CHUNK: usize = 250;
    let chunks: Vec<&[u8]> = name.chunks(MAX_CHUNK).collect();
    let last = chunks.len().saturating_sub(1);
    chunks
        .iter()
        .enumerate()
        .map(|(idx, chunk)| {
            let flags = u8::from(idx != last);
            // chunk.len() <= 250, so the length fits.
            let mut out = vec![
                b'N',
                b'M',
                u8::try_from(5 + chunk.len()).unwrap_or(0),
                1,
                flags,
            ];
            out.extend_from_slice(chunk);
            out
        })
        .collect()
}

/// RRIP 1.10 4.1.3 `SL`: a symlink target as component records (4.1.3.1), split into several
/// `SL` entries (flag CONTINUE = 1) and components (component flag CONTINUE = 1) as needed.
pub(crate) fn sl(target: &str) -> Vec<Vec<u8>> {
    const MAX_ENTRY: usize = 255;
    const MAX_COMPONENT: usize = 248;
    // (flags, content) component records.
    let mut components: Vec<(u8, &[u8])> = Vec::new();
    if target.starts_with('/') {
        components.push((0x08, b"")); // ROOT
    }
    for part in target.split('/').filter(|part| !part.is_empty()) {
        match part {
            "." => components.push((0x02, b"")),
            ".." => components.push((0x04, b"")),
            _ => {
                let chunks: Vec<&[u8]> = part.as_bytes().chunks(MAX_COMPONENT).collect();
                let last = chunks.len().saturating_sub(1);
                for (idx, chunk) in chunks.into_iter().enumerate() {
                    components.push((u8::from(idx != last), chunk));
                }
            }
        }
    }
    let mut entries: Vec<Vec<u8>> = Vec::new();
    let mut current = vec![b'S', b'L', 0, 1, 0];
    for (flags, content) in components {
        if current.len() + 2 + content.len() > MAX_ENTRY {
            entries.push(std::mem::replace(&mut current, vec![b'S', b'L', 0, 1, 0]));
        }
        current.push(flags);
        current.push(u8::try_from(content.len()).unwrap_or(0));
        current.extend_from_slice(content);
    }
    entries.push(current);
    let last = entries.len() - 1;
    for (idx, entry) in entries.iter_mut().enumerate() {
        entry[2] = u8::try_from(entry.len()).unwrap_or(0);
        entry[4] = u8::from(idx != last);
    }
    entries
}

/// SUSP 5.1 `CE`: where the continuation area is.
pub(crate) fn ce(lba: u32, offset: u32, len: u32) -> Vec<u8> {
    let mut out = vec![0u8; CE_LEN];
    out[..4].copy_from_slice(&[b'C', b'E', 28, 1]);
    both_u32(&mut out[4..12], lba);
    both_u32(&mut out[12..20], offset);
    both_u32(&mut out[20..28], len);
    out
}

/// The system use of one directory record after packing: the inline entries, and the entries
/// that go to a continuation area (empty if everything fits).
#[derive(Clone, Debug, Default)]
pub(crate) struct Packed {
    pub(crate) inline: Vec<u8>,
    pub(crate) continued: Vec<u8>,
}

/// Splits `entries` between the record (which has `room` bytes of system use) and a
/// continuation area. Entries are atomic; the `CE` entry itself is appended at encoding time.
pub(crate) fn pack(entries: Vec<Vec<u8>>, room: usize, path: &str) -> Result<Packed> {
    let total: usize = entries.iter().map(Vec::len).sum();
    let mut packed = Packed::default();
    if total <= room {
        packed.inline = entries.concat();
        return Ok(packed);
    }
    let mut spill = false;
    for entry in entries {
        if !spill && packed.inline.len() + entry.len() + CE_LEN <= room {
            packed.inline.extend_from_slice(&entry);
        } else {
            spill = true;
            packed.continued.extend_from_slice(&entry);
        }
    }
    if packed.continued.len() > SECTOR {
        return Err(ImageError::IsoRockRidgeTooLong {
            path: path.to_owned(),
            len: packed.continued.len(),
        });
    }
    Ok(packed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn er_length_fits() {
        assert_eq!(er().len(), 237);
        assert_eq!(usize::from(er()[2]), 237);
    }

    #[test]
    fn long_symlink_splits() {
        let target = format!("/{}/b/../c", "a".repeat(600));
        let entries = sl(&target);
        assert!(entries.len() >= 3);
        assert!(entries
            .iter()
            .all(|entry| entry.len() <= 255 && usize::from(entry[2]) == entry.len()));
    }
}
