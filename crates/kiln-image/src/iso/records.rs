//! On-disk records of ECMA-119 (4th edition, 2019), each declared once with its clause:
//! numeric field encodings (7.2, 7.3), dates (8.4.26.1, 9.1.5), the directory record (9.1),
//! path table records (9.4) and the primary / terminator volume descriptors (8.4, 8.3).
//!
//! Every narrowing conversion goes through [`narrow`], which names the field on failure.

use crate::error::{ImageError, Result};

/// ECMA-119 6.1.2: the logical sector (and, here, logical block) size.
pub(crate) const SECTOR: usize = 2048;
/// The same as a `u64`, for byte offsets.
pub(crate) const SECTOR_U64: u64 = 2048;

/// Converts `value` to a narrower integer, or fails naming the on-disk field.
pub(crate) fn narrow<T: TryFrom<u64> + Copy>(field: &'static str, value: u64) -> Result<T> {
    T::try_from(value).map_err(|_| ImageError::IsoFieldOverflow {
        field,
        value,
        limit: max_of::<T>(),
    })
}

/// The largest value of `T` as a `u64`, found by probing the usual widths.
fn max_of<T: TryFrom<u64>>() -> u64 {
    [u64::from(u8::MAX), u64::from(u16::MAX), u64::from(u32::MAX)]
        .into_iter()
        .find(|limit| T::try_from(limit + 1).is_err())
        .unwrap_or(u64::MAX)
}

/// ECMA-119 7.2.3: a 16-bit number recorded both little- and big-endian.
pub(crate) fn both_u16(out: &mut [u8], value: u16) {
    out[0..2].copy_from_slice(&value.to_le_bytes());
    out[2..4].copy_from_slice(&value.to_be_bytes());
}

/// ECMA-119 7.3.3: a 32-bit number recorded both little- and big-endian.
pub(crate) fn both_u32(out: &mut [u8], value: u32) {
    out[0..4].copy_from_slice(&value.to_le_bytes());
    out[4..8].copy_from_slice(&value.to_be_bytes());
}

/// Fills `out` with `text` padded with spaces (ECMA-119 7.4.3 and 8.4 "filled with (20)").
pub(crate) fn padded(out: &mut [u8], text: &[u8]) {
    out.fill(b' ');
    out[..text.len()].copy_from_slice(text);
}

/// A broken-down UTC time, from Unix seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Civil {
    pub(crate) year: i64,
    pub(crate) month: u8,
    pub(crate) day: u8,
    pub(crate) hour: u8,
    pub(crate) minute: u8,
    pub(crate) second: u8,
}

impl Civil {
    /// Converts Unix seconds to a civil UTC date (Howard Hinnant's `civil_from_days`). The range
    /// is restricted to what a directory record can hold (ECMA-119 9.1.5: years 1900..=2155).
    pub(crate) fn from_epoch(epoch: i64) -> Result<Civil> {
        let days = epoch.div_euclid(86_400);
        let secs = epoch.rem_euclid(86_400);
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = yoe + era * 400 + i64::from(month <= 2);
        if !(1900..=2155).contains(&year) {
            return Err(ImageError::IsoTimestampRange { epoch });
        }
        let small =
            |value: i64| u8::try_from(value).map_err(|_| ImageError::IsoTimestampRange { epoch });
        Ok(Civil {
            year,
            month: small(month)?,
            day: small(day)?,
            hour: small(secs / 3600)?,
            minute: small(secs / 60 % 60)?,
            second: small(secs % 60)?,
        })
    }

    /// ECMA-119 9.1.5 (and RRIP `TF` short form): 7 bytes, years since 1900, offset 0 (UTC).
    pub(crate) fn short(&self) -> [u8; 7] {
        let years = u8::try_from(self.year - 1900).unwrap_or(u8::MAX);
        [
            years,
            self.month,
            self.day,
            self.hour,
            self.minute,
            self.second,
            0,
        ]
    }

    /// ECMA-119 8.4.26.1: 17 bytes, `YYYYMMDDHHMMSScc` in digits plus an offset byte (UTC).
    pub(crate) fn long(&self) -> [u8; 17] {
        let text = format!(
            "{:04}{:02}{:02}{:02}{:02}{:02}00",
            self.year, self.month, self.day, self.hour, self.minute, self.second
        );
        let mut out = [0u8; 17];
        out[..16].copy_from_slice(&text.as_bytes()[..16]);
        out
    }
}

/// ECMA-119 8.4.26.1: "not specified" is sixteen `0` digits and a zero offset.
pub(crate) const UNSET_LONG_DATE: [u8; 17] = *b"0000000000000000\0";

/// ECMA-119 9.1.6: file flags of a directory record.
pub(crate) const FLAG_DIRECTORY: u8 = 0x02;

/// ECMA-119 9.1 Format of a Directory Record. `system_use` is the Rock Ridge area (9.1.13).
pub(crate) struct DirRecord<'a> {
    pub(crate) extent_lba: u32,
    pub(crate) data_length: u32,
    pub(crate) date: [u8; 7],
    pub(crate) flags: u8,
    /// The file identifier (9.1.11): `\0` for `.`, `\x01` for `..`, otherwise `NAME.EXT;1`.
    pub(crate) identifier: &'a [u8],
    pub(crate) system_use: &'a [u8],
}

/// Length of a directory record without its system use area: 33 bytes plus the identifier and
/// the padding byte that keeps the system use field at an even offset (9.1.12).
pub(crate) fn dir_record_base_len(identifier_len: usize) -> usize {
    33 + identifier_len + usize::from(identifier_len & 1 == 0)
}

impl DirRecord<'_> {
    /// The encoded length; always even, at most 255 (checked by [`DirRecord::encode`]).
    pub(crate) fn len(&self) -> usize {
        let raw = dir_record_base_len(self.identifier.len()) + self.system_use.len();
        raw + raw % 2
    }

    /// Appends the record to `out`.
    pub(crate) fn encode(&self, out: &mut Vec<u8>) -> Result<()> {
        let len = self.len();
        let start = out.len();
        out.resize(start + len, 0);
        let rec = &mut out[start..];
        rec[0] = narrow("directory record length (9.1.1)", len as u64)?;
        rec[1] = 0; // 9.1.2 extended attribute record length
        both_u32(&mut rec[2..10], self.extent_lba); // 9.1.3
        both_u32(&mut rec[10..18], self.data_length); // 9.1.4
        rec[18..25].copy_from_slice(&self.date); // 9.1.5
        rec[25] = self.flags; // 9.1.6
        rec[26] = 0; // 9.1.7 file unit size
        rec[27] = 0; // 9.1.8 interleave gap size
        both_u16(&mut rec[28..32], 1); // 9.1.9 volume sequence number
        rec[32] = narrow(
            "file identifier length (9.1.10)",
            self.identifier.len() as u64,
        )?;
        rec[33..33 + self.identifier.len()].copy_from_slice(self.identifier); // 9.1.11
        let su_start = dir_record_base_len(self.identifier.len());
        rec[su_start..su_start + self.system_use.len()].copy_from_slice(self.system_use); // 9.1.13
        Ok(())
    }
}

/// ECMA-119 9.4 Format of a Path Table Record; `big_endian` selects the M table (9.4.3, 9.4.5).
pub(crate) fn encode_path_record(
    out: &mut Vec<u8>,
    identifier: &[u8],
    extent_lba: u32,
    parent: u16,
    big_endian: bool,
) -> Result<()> {
    out.push(narrow(
        "path table identifier length (9.4.1)",
        identifier.len() as u64,
    )?);
    out.push(0); // 9.4.2 extended attribute record length
    if big_endian {
        out.extend_from_slice(&extent_lba.to_be_bytes());
        out.extend_from_slice(&parent.to_be_bytes());
    } else {
        out.extend_from_slice(&extent_lba.to_le_bytes());
        out.extend_from_slice(&parent.to_le_bytes());
    }
    out.extend_from_slice(identifier); // 9.4.5
    if identifier.len() % 2 == 1 {
        out.push(0); // 9.4.6 padding field
    }
    Ok(())
}

/// Inputs of the primary volume descriptor that come from the layout.
pub(crate) struct Pvd<'a> {
    pub(crate) volume_id: &'a str,
    pub(crate) volume_space_size: u32,
    pub(crate) path_table_size: u32,
    pub(crate) l_path_table_lba: u32,
    pub(crate) m_path_table_lba: u32,
    /// The root directory record (34 bytes, 8.4.18).
    pub(crate) root_record: &'a [u8],
    pub(crate) date: [u8; 17],
}

/// ECMA-119 8.1 Format of a Volume Descriptor: type, `CD001`, version 1.
fn descriptor_header(sector: &mut [u8], kind: u8) {
    sector[0] = kind;
    sector[1..6].copy_from_slice(b"CD001");
    sector[6] = 1;
}

impl Pvd<'_> {
    /// ECMA-119 8.4 Primary Volume Descriptor, into a 2048-byte sector.
    pub(crate) fn encode(&self, sector: &mut [u8]) {
        descriptor_header(sector, 1);
        padded(&mut sector[8..40], b""); // 8.4.5 system identifier
        padded(&mut sector[40..72], self.volume_id.as_bytes()); // 8.4.6 volume identifier
        both_u32(&mut sector[80..88], self.volume_space_size); // 8.4.8
        both_u16(&mut sector[120..124], 1); // 8.4.10 volume set size
        both_u16(&mut sector[124..128], 1); // 8.4.11 volume sequence number
        both_u16(&mut sector[128..132], 2048); // 8.4.12 logical block size
        both_u32(&mut sector[132..140], self.path_table_size); // 8.4.13
        sector[140..144].copy_from_slice(&self.l_path_table_lba.to_le_bytes()); // 8.4.14
        sector[148..152].copy_from_slice(&self.m_path_table_lba.to_be_bytes()); // 8.4.16
        sector[156..190].copy_from_slice(self.root_record); // 8.4.18
        padded(&mut sector[190..318], b""); // 8.4.19 volume set identifier
        padded(&mut sector[318..446], b""); // 8.4.20 publisher identifier
        padded(&mut sector[446..574], b""); // 8.4.21 data preparer identifier
        padded(&mut sector[574..702], b"KILN"); // 8.4.22 application identifier
        padded(&mut sector[702..739], b""); // 8.4.23 copyright file identifier
        padded(&mut sector[739..776], b""); // 8.4.24 abstract file identifier
        padded(&mut sector[776..813], b""); // 8.4.25 bibliographic file identifier
        sector[813..830].copy_from_slice(&self.date); // 8.4.26 creation
        sector[830..847].copy_from_slice(&self.date); // 8.4.27 modification
        sector[847..864].copy_from_slice(&UNSET_LONG_DATE); // 8.4.28 expiration
        sector[864..881].copy_from_slice(&self.date); // 8.4.29 effective
        sector[881] = 1; // 8.4.31 file structure version
    }
}

/// ECMA-119 8.3 Volume Descriptor Set Terminator.
pub(crate) fn encode_terminator(sector: &mut [u8]) {
    descriptor_header(sector, 255);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates() {
        let date = Civil::from_epoch(0).unwrap();
        assert_eq!(date.short(), [70, 1, 1, 0, 0, 0, 0]);
        let date = Civil::from_epoch(1_700_000_000).unwrap();
        assert_eq!(&date.long()[..14], b"20231114221320");
        assert!(Civil::from_epoch(-3_000_000_000).is_err());
        assert_eq!(
            crate::iso::utc_timestamp(315_532_800).unwrap(),
            "1980-01-01T00:00:00Z"
        );
        assert_eq!(
            crate::iso::utc_timestamp(1_700_000_000).unwrap(),
            "2023-11-14T22:13:20Z"
        );
    }

    #[test]
    fn narrow_names_the_field() {
        let err = narrow::<u8>("demo", 300).unwrap_err();
        assert!(matches!(
            err,
            ImageError::IsoFieldOverflow {
                field: "demo",
                value: 300,
                limit: 255
            }
        ));
    }
}
