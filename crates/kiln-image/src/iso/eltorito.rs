//! El Torito ("Bootable CD-ROM Format Specification" 1.0, 1995): the boot record volume
//! descriptor (section 2.0), the boot catalog (2.x) and the boot info table that isolinux
//! expects (a syslinux/mkisofs convention, `-boot-info-table`).

use crate::error::Result;
use crate::iso::records::narrow;

/// El Torito 2.0 Boot Record Volume Descriptor (ECMA-119 8.2 with the El Torito system ID).
pub(crate) fn encode_boot_record(sector: &mut [u8], catalog_lba: u32) {
    sector[0] = 0;
    sector[1..6].copy_from_slice(b"CD001");
    sector[6] = 1;
    let id = b"EL TORITO SPECIFICATION";
    sector[7..7 + id.len()].copy_from_slice(id); // the rest of the 32 bytes stays zero
    sector[0x47..0x4B].copy_from_slice(&catalog_lba.to_le_bytes());
}

/// One boot image for the catalog.
pub(crate) struct BootEntry {
    pub(crate) lba: u32,
    /// Sector count in 512-byte virtual sectors (El Torito 2.2 offset 6).
    pub(crate) sectors: u16,
}

/// El Torito 2.1-2.4: validation entry, initial/default entry (BIOS, no emulation) and, for
/// UEFI, a final section header (platform 0xEF) with one section entry. Without a BIOS image the
/// EFI image becomes the default entry of a validation entry with platform 0xEF.
pub(crate) fn encode_catalog(sector: &mut [u8], bios: Option<&BootEntry>, efi: Option<&BootEntry>) {
    // 2.1 Validation Entry.
    sector[0] = 1;
    sector[1] = if bios.is_some() { 0 } else { 0xEF };
    sector[0x1E] = 0x55;
    sector[0x1F] = 0xAA;
    let sum = sector[..32].chunks_exact(2).fold(0u16, |acc, word| {
        acc.wrapping_add(u16::from_le_bytes([word[0], word[1]]))
    });
    sector[0x1C..0x1E].copy_from_slice(&0u16.wrapping_sub(sum).to_le_bytes());

    let write_entry = |entry: &mut [u8], boot: &BootEntry| {
        entry[0] = 0x88; // bootable
        entry[1] = 0; // no emulation
        entry[2..4].copy_from_slice(&0u16.to_le_bytes()); // load segment 0 = 0x7C0
        entry[4] = 0; // system type
        entry[6..8].copy_from_slice(&boot.sectors.to_le_bytes());
        entry[8..12].copy_from_slice(&boot.lba.to_le_bytes());
    };
    match (bios, efi) {
        (Some(bios), efi) => {
            write_entry(&mut sector[32..64], bios); // 2.2 Initial/Default Entry
            if let Some(efi) = efi {
                // 2.3 Section Header: 0x91 = final header, platform 0xEF (UEFI), 1 entry.
                sector[64] = 0x91;
                sector[65] = 0xEF;
                sector[66..68].copy_from_slice(&1u16.to_le_bytes());
                write_entry(&mut sector[96..128], efi); // 2.4 Section Entry
            }
        }
        (None, Some(efi)) => write_entry(&mut sector[32..64], efi),
        (None, None) => {}
    }
}

/// The EFI entry's sector count: the image size in 512-byte sectors, or 0 (meaning "the rest")
/// when it does not fit 16 bits, as xorriso does for large ESPs.
pub(crate) fn efi_sectors(size: u64) -> u16 {
    u16::try_from(size.div_ceil(512)).unwrap_or(0)
}

/// Patches the boot info table into a copy of the isolinux image: at offset 8 the LBA of the
/// PVD, the image's own LBA, its length and the 32-bit sum of its little-endian words from byte
/// 64 to the end (syslinux `isolinux.asm` `bi_pvd`..`bi_csum`, 40 reserved bytes after).
pub(crate) fn patch_boot_info_table(image: &mut [u8], pvd_lba: u32, lba: u32) -> Result<()> {
    let len = narrow::<u32>("boot info table length", image.len() as u64)?;
    let mut sum = 0u32;
    for chunk in image[64..].chunks(4) {
        let mut word = [0u8; 4];
        word[..chunk.len()].copy_from_slice(chunk);
        sum = sum.wrapping_add(u32::from_le_bytes(word));
    }
    image[8..12].copy_from_slice(&pvd_lba.to_le_bytes());
    image[12..16].copy_from_slice(&lba.to_le_bytes());
    image[16..20].copy_from_slice(&len.to_le_bytes());
    image[20..24].copy_from_slice(&sum.to_le_bytes());
    image[24..64].fill(0);
    Ok(())
}
