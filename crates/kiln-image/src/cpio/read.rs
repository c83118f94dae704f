//! A small newc reader, so tests (and `kiln` debugging) can check an archive without GNU cpio.
//! It reads the whole uncompressed archive from memory and is deliberately strict: bad magic,
//! non-hex fields, missing NULs, truncation and a missing trailer are errors.
//!
//! Format: `man 5 cpio` ("New ASCII Format"), as in the parent module.

use super::{pad4, NEWC_HEADER_LEN, NEWC_MAGIC, TRAILER};
use crate::ImageError;

/// One member as stored: the raw header fields, the name and the data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReadEntry {
    pub path: String,
    pub ino: u32,
    /// Type and permission bits.
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub nlink: u32,
    pub mtime: u32,
    pub rdevmajor: u32,
    pub rdevminor: u32,
    /// File contents or symlink target.
    pub data: Vec<u8>,
}

/// Reads every member up to `TRAILER!!!`; bytes after the trailer (zero padding that some
/// writers add to a block size) are ignored.
pub fn read_newc(bytes: &[u8]) -> Result<Vec<ReadEntry>, ImageError> {
    let mut res = Vec::new();
    let mut pos = 0usize;
    loop {
        let offset = u64::try_from(pos).unwrap_or(u64::MAX);
        let malformed = |reason| ImageError::MalformedCpio { offset, reason };
        let header = bytes
            .get(pos..pos + NEWC_HEADER_LEN)
            .ok_or_else(|| malformed("truncated header"))?;
        if &header[..6] != NEWC_MAGIC {
            return Err(malformed("bad magic, expected 070701"));
        }
        let mut fields = [0u32; 13];
        for (idx, field) in fields.iter_mut().enumerate() {
            let hex = &header[6 + idx * 8..6 + (idx + 1) * 8];
            let text = std::str::from_utf8(hex).map_err(|_| malformed("non-ASCII header field"))?;
            *field =
                u32::from_str_radix(text, 16).map_err(|_| malformed("non-hex header field"))?;
        }
        let [ino, mode, uid, gid, nlink, mtime, filesize, _devmajor, _devminor, rdevmajor, rdevminor, namesize, _check] =
            fields;
        let namesize = usize::try_from(namesize).map_err(|_| malformed("name too long"))?;
        if namesize == 0 {
            return Err(malformed("empty name"));
        }
        pos += NEWC_HEADER_LEN;
        let name = bytes
            .get(pos..pos + namesize)
            .ok_or_else(|| malformed("truncated name"))?;
        if name[namesize - 1] != 0 {
            return Err(malformed("name not NUL-terminated"));
        }
        let path = std::str::from_utf8(&name[..namesize - 1])
            .map_err(|_| malformed("name is not UTF-8"))?
            .to_owned();
        pos += namesize;
        pos += pad4(u64::try_from(pos).unwrap_or(0));
        if path == TRAILER {
            return Ok(res);
        }
        let filesize = usize::try_from(filesize).map_err(|_| malformed("file too large"))?;
        let data = bytes
            .get(pos..pos + filesize)
            .ok_or_else(|| malformed("truncated data"))?
            .to_vec();
        pos += filesize;
        pos += pad4(u64::try_from(pos).unwrap_or(0));
        res.push(ReadEntry {
            path,
            ino,
            mode,
            uid,
            gid,
            nlink,
            mtime,
            rdevmajor,
            rdevminor,
            data,
        });
    }
}

/// Decompresses an initrd written by [`super::write_initrd`], recognising zstd, xz and gzip by
/// their magic numbers; anything else is returned as is.
pub fn decompress(bytes: &[u8]) -> Result<Vec<u8>, ImageError> {
    use std::io::Read;
    let io = |source| ImageError::Io {
        path: "<initrd>".into(),
        source,
    };
    let mut out = Vec::new();
    if bytes.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        out = zstd::stream::decode_all(bytes).map_err(io)?;
    } else if bytes.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0]) {
        liblzma::read::XzDecoder::new(bytes)
            .read_to_end(&mut out)
            .map_err(io)?;
    } else if bytes.starts_with(&[0x1f, 0x8b]) {
        flate2::read::GzDecoder::new(bytes)
            .read_to_end(&mut out)
            .map_err(io)?;
    } else {
        out = bytes.to_vec();
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_garbage() {
        assert!(read_newc(b"").is_err());
        assert!(read_newc(&[b'0'; 200]).is_err());
        let mut out = Vec::new();
        crate::cpio::write_newc(&mut out, Vec::new(), &Default::default()).unwrap();
        assert_eq!(read_newc(&out).unwrap(), Vec::new());
        assert!(read_newc(&out[..out.len() - 4]).is_err());
    }
}
