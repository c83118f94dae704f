//! isohybrid: an MBR (and optionally a GPT) in the ISO system area so that the same file boots
//! from a USB stick, structured like `xorriso -as mkisofs -isohybrid-mbr isohdpfx.bin
//! -isohybrid-gpt-basdat`:
//!
//! * MBR (bytes 0..512 of the image): the first 432 bytes of syslinux' `isohdpfx.bin`; at 432
//!   the isolinux image's address in 512-byte sectors (u64 LE, read by the isohdpfx code); at
//!   440 a disk signature; partition 1 (active, type 0x00) covers the whole image from sector 0;
//!   partition 2 (type 0xEF) is the ESP image; 0x55AA at 510.
//! * GPT (UEFI 2.10 §5.3): header at sector 1, 248 entries at sectors 2..64 (inside the 32 KiB
//!   system area, as xorriso does), backup entries and header in the last 63 sectors. Entry 1
//!   ("ISOHybrid") covers the image, entry 2 ("ISOHybrid1") the ESP, both of type Basic Data.
//! * The image is padded to a whole number of MiB (64 heads x 32 sectors, xorriso's
//!   "cyl-align-on"), which leaves room for the backup GPT after the ISO data.
//!
//! GUIDs are derived from the volume ID and image size, not random, so images stay reproducible.

use crate::error::Result;
use crate::iso::records::narrow;

/// GPT entries, as xorriso writes them: 248 x 128 bytes = 62 sectors.
const GPT_ENTRIES: u32 = 248;
const GPT_ENTRY_SIZE: usize = 128;
const GPT_ENTRY_SECTORS: u64 = 62;
/// Sectors at the end of the image taken by the backup GPT (entries + header).
pub(crate) const GPT_TAIL_SECTORS: u64 = GPT_ENTRY_SECTORS + 1;
/// Alignment of the image size: one "cylinder" of 64 heads x 32 sectors x 512 bytes.
pub(crate) const ALIGN_BYTES: u64 = 64 * 32 * 512;

/// Basic Data partition type EBD0A0A2-B9E5-4433-87C0-68B6B72699C7, in on-disk byte order.
const BASIC_DATA: [u8; 16] = [
    0xa2, 0xa0, 0xd0, 0xeb, 0xe5, 0xb9, 0x33, 0x44, 0x87, 0xc0, 0x68, 0xb6, 0xb7, 0x26, 0x99, 0xc7,
];

/// What the system area needs from the layout.
pub(crate) struct Hybrid<'a> {
    pub(crate) mbr_template: &'a [u8],
    pub(crate) gpt: bool,
    pub(crate) volume_id: &'a str,
    /// Image size in 512-byte sectors.
    pub(crate) total_sectors: u64,
    /// isolinux.bin address in 512-byte sectors.
    pub(crate) bios_sector: u64,
    /// ESP image (start, size) in 512-byte sectors.
    pub(crate) efi: Option<(u64, u64)>,
}

/// The bytes to write: the first 32 KiB of the image and, with a GPT, the tail (offset, bytes).
pub(crate) struct HybridBytes {
    pub(crate) head: Vec<u8>,
    pub(crate) tail: Option<(u64, Vec<u8>)>,
}

/// Builds the MBR and GPT.
pub(crate) fn encode(hybrid: &Hybrid<'_>) -> Result<HybridBytes> {
    let seed = fnv1a(hybrid.volume_id.as_bytes()) ^ hybrid.total_sectors;
    let mut head = vec![0u8; 32 * 1024];
    let template = &hybrid.mbr_template[..hybrid.mbr_template.len().min(432)];
    head[..template.len()].copy_from_slice(template);
    head[432..440].copy_from_slice(&hybrid.bios_sector.to_le_bytes());
    head[440..444].copy_from_slice(&seed.to_le_bytes()[..4]);
    let total = narrow::<u32>("MBR partition size (sectors)", hybrid.total_sectors)?;
    mbr_entry(&mut head[446..462], 0x80, 0x00, 0, total, true);
    if let Some((start, size)) = hybrid.efi {
        let start32 = narrow::<u32>("MBR ESP start (sectors)", start)?;
        let size32 = narrow::<u32>("MBR ESP size (sectors)", size)?;
        mbr_entry(&mut head[462..478], 0x00, 0xEF, start32, size32, false);
    }
    head[510] = 0x55;
    head[511] = 0xAA;
    if !hybrid.gpt {
        return Ok(HybridBytes { head, tail: None });
    }

    let last = hybrid.total_sectors - 1;
    let backup_entries = last - GPT_ENTRY_SECTORS;
    let first_usable = 2 + GPT_ENTRY_SECTORS;
    let last_usable = backup_entries - 1;
    let mut entries = vec![0u8; GPT_ENTRY_SIZE * 248];
    debug_assert_eq!(entries.len() as u64, GPT_ENTRY_SECTORS * 512);
    // Like xorriso, entry 1 stops one sector short of the last usable one.
    gpt_entry(
        &mut entries[..GPT_ENTRY_SIZE],
        guid(seed, 1),
        0,
        last_usable - 1,
        "ISOHybrid",
    );
    if let Some((start, size)) = hybrid.efi {
        gpt_entry(
            &mut entries[GPT_ENTRY_SIZE..2 * GPT_ENTRY_SIZE],
            guid(seed, 2),
            start,
            start + size - 1,
            "ISOHybrid1",
        );
    }
    let entries_crc = crc32(&entries);
    let disk_guid = guid(seed, 0);
    let header = |mine: u64, other: u64, entries_lba: u64| {
        let mut h = vec![0u8; 512];
        h[0..8].copy_from_slice(b"EFI PART");
        h[8..12].copy_from_slice(&0x0001_0000u32.to_le_bytes());
        h[12..16].copy_from_slice(&92u32.to_le_bytes());
        h[24..32].copy_from_slice(&mine.to_le_bytes());
        h[32..40].copy_from_slice(&other.to_le_bytes());
        h[40..48].copy_from_slice(&first_usable.to_le_bytes());
        h[48..56].copy_from_slice(&last_usable.to_le_bytes());
        h[56..72].copy_from_slice(&disk_guid);
        h[72..80].copy_from_slice(&entries_lba.to_le_bytes());
        h[80..84].copy_from_slice(&GPT_ENTRIES.to_le_bytes());
        h[84..88].copy_from_slice(&128u32.to_le_bytes());
        h[88..92].copy_from_slice(&entries_crc.to_le_bytes());
        let crc = crc32(&h[..92]);
        h[16..20].copy_from_slice(&crc.to_le_bytes());
        h
    };
    head[512..1024].copy_from_slice(&header(1, last, 2));
    head[1024..1024 + entries.len()].copy_from_slice(&entries);
    let mut tail = entries;
    tail.extend_from_slice(&header(last, 1, backup_entries));
    Ok(HybridBytes {
        head,
        tail: Some((backup_entries * 512, tail)),
    })
}

/// One MBR partition entry with CHS for 64 heads / 32 sectors (or the "too large" marker).
fn mbr_entry(out: &mut [u8], status: u8, kind: u8, start: u32, size: u32, real_chs: bool) {
    let chs = |lba: u32| -> [u8; 3] {
        let cyl = lba / (64 * 32);
        if !real_chs || cyl > 1023 {
            return [0xfe, 0xff, 0xff];
        }
        let head = (lba / 32) % 64;
        let sector = lba % 32 + 1;
        // Each value is masked to its field width, so the conversions cannot fail.
        let byte = |value: u32| u8::try_from(value & 0xff).unwrap_or(0);
        [byte(head), byte(sector | ((cyl >> 2) & 0xc0)), byte(cyl)]
    };
    out[0] = status;
    out[1..4].copy_from_slice(&chs(start));
    out[4] = kind;
    out[5..8].copy_from_slice(&chs((start + size).saturating_sub(1)));
    out[8..12].copy_from_slice(&start.to_le_bytes());
    out[12..16].copy_from_slice(&size.to_le_bytes());
}

/// UEFI 2.10 Table 5.6 GPT Partition Entry: type, unique GUID, first/last LBA, attributes
/// (bit 0 platform-required and bit 60 read-only, as xorriso sets), UTF-16LE name.
fn gpt_entry(out: &mut [u8], unique: [u8; 16], first: u64, last: u64, name: &str) {
    out[0..16].copy_from_slice(&BASIC_DATA);
    out[16..32].copy_from_slice(&unique);
    out[32..40].copy_from_slice(&first.to_le_bytes());
    out[40..48].copy_from_slice(&last.to_le_bytes());
    out[48..56].copy_from_slice(&0x1000_0000_0000_0001u64.to_le_bytes());
    for (idx, unit) in name.encode_utf16().take(36).enumerate() {
        out[56 + 2 * idx..58 + 2 * idx].copy_from_slice(&unit.to_le_bytes());
    }
}

/// A deterministic version-4-shaped GUID from a seed and an index.
fn guid(seed: u64, index: u64) -> [u8; 16] {
    let a = fnv1a(&(seed ^ index.wrapping_mul(0x9e37_79b9_7f4a_7c15)).to_le_bytes());
    let b = fnv1a(&a.to_le_bytes());
    let mut out = [0u8; 16];
    out[..8].copy_from_slice(&a.to_le_bytes());
    out[8..].copy_from_slice(&b.to_le_bytes());
    out[7] = (out[7] & 0x0f) | 0x40;
    out[8] = (out[8] & 0x3f) | 0x80;
    out
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// CRC-32 (IEEE 802.3, reflected 0xEDB88320), as the GPT header and entry array use.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for byte in bytes {
        crc ^= u32::from(*byte);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_check_value() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    }

    #[test]
    fn chs_matches_xorriso() {
        let mut entry = [0u8; 16];
        mbr_entry(&mut entry, 0x80, 0, 0, 10240, true);
        assert_eq!(
            entry,
            [0x80, 0, 1, 0, 0, 0x3f, 0x20, 4, 0, 0, 0, 0, 0, 0x28, 0, 0]
        );
    }
}
