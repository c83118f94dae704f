//! The `ar` container of a `.deb`, read the way dpkg-deb writes it, and nothing more.
//!
//! `!<arch>\n`, then per member a 60-byte header — name (16 bytes, space-padded, GNU's
//! trailing `/` allowed), mtime (12), uid (6), gid (6), mode (8), size (10, decimal) and the
//! magic `` `\n `` — then the data, padded to an even length (`deb(5)`, `ar(5)`).
//!
//! Design decision: this replaces the `ar` crate for reading, whose 0.9 panicked on a hostile
//! header (a slice past the end of its GNU name table; found by the `deb` fuzz target). dpkg-deb
//! never writes GNU or BSD long names, so they are refused here rather than parsed.

use std::io::{self, Read};

/// Reads members one after another.
pub(crate) struct ArReader<R> {
    inner: R,
    /// Bytes of the current member not yet read, and its padding byte.
    remaining: u64,
    padding: u64,
}

impl<R: Read> ArReader<R> {
    /// Checks the global header.
    pub(crate) fn new(mut inner: R) -> Result<ArReader<R>, String> {
        let mut magic = [0u8; 8];
        inner
            .read_exact(&mut magic)
            .map_err(|e| format!("not an ar archive: {e}"))?;
        if &magic != b"!<arch>\n" {
            return Err("not an ar archive (no `!<arch>` header)".into());
        }
        Ok(ArReader {
            inner,
            remaining: 0,
            padding: 0,
        })
    }

    /// The next member's name, or `None` at the end; its data is then read from
    /// [`ArReader::member`].
    pub(crate) fn next_member(&mut self) -> Result<Option<String>, String> {
        let skip = self.remaining + self.padding;
        let skipped = io::copy(&mut (&mut self.inner).take(skip), &mut io::sink())
            .map_err(|e| format!("cannot read a member: {e}"))?;
        if skipped != skip {
            return Err("the archive ends inside a member".into());
        }
        let mut header = [0u8; 60];
        let mut filled = 0;
        while filled < header.len() {
            match self.inner.read(&mut header[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(format!("cannot read a member header: {e}")),
            }
        }
        if filled == 0 {
            return Ok(None);
        }
        if filled < header.len() {
            return Err("the archive ends inside a member header".into());
        }
        if &header[58..60] != b"`\n" {
            return Err("a member header lacks its magic".into());
        }
        let name = std::str::from_utf8(&header[..16])
            .map_err(|_| "a member name is not ASCII".to_string())?
            .trim_end_matches(' ');
        if name.starts_with('/') || name.starts_with("#1/") {
            return Err(format!(
                "the member name `{name}` is a long-name reference, which dpkg-deb never writes"
            ));
        }
        let name = name.strip_suffix('/').unwrap_or(name);
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(format!("bad member name `{}`", name.escape_debug()));
        }
        let size = std::str::from_utf8(&header[48..58])
            .ok()
            .map(|s| s.trim_end_matches(' '))
            .filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|s| s.parse::<u64>().ok())
            .ok_or_else(|| format!("the member `{name}` has a bad size"))?;
        self.remaining = size;
        self.padding = size & 1;
        Ok(Some(name.to_string()))
    }

    /// The current member's data.
    pub(crate) fn member(&mut self) -> Member<'_, R> {
        Member { archive: self }
    }
}

/// A reader of one member's data; a member that ends early is an error.
pub(crate) struct Member<'a, R> {
    archive: &'a mut ArReader<R>,
}

impl<R: Read> Read for Member<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = self.archive.remaining;
        if left == 0 || buf.is_empty() {
            return Ok(0);
        }
        let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        let n = self.archive.inner.read(&mut buf[..want])?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the archive ends inside a member",
            ));
        }
        self.archive.remaining -= n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(name: &str, size: &str) -> Vec<u8> {
        let mut h = format!(
            "{name:<16}{:<12}{:<6}{:<6}{:<8}{size:<10}`\n",
            0, 0, 0, 100644
        )
        .into_bytes();
        h.truncate(60);
        h
    }

    #[test]
    fn reads_members_and_refuses_what_dpkg_never_writes() {
        let mut bytes = b"!<arch>\n".to_vec();
        bytes.extend(header("debian-binary", "4"));
        bytes.extend(b"2.0\n");
        bytes.extend(header("data.tar/", "3"));
        bytes.extend(b"abc\n");
        let mut ar = ArReader::new(bytes.as_slice()).unwrap();
        assert_eq!(ar.next_member().unwrap().as_deref(), Some("debian-binary"));
        let mut data = String::new();
        ar.member().read_to_string(&mut data).unwrap();
        assert_eq!(data, "2.0\n");
        // An unread member is skipped, padding included.
        assert_eq!(ar.next_member().unwrap().as_deref(), Some("data.tar"));
        assert_eq!(ar.next_member().unwrap(), None);
        for (name, size) in [
            ("/0", "3"),
            ("#1/20", "3"),
            ("x", "-1"),
            ("x", "9999999999"),
            ("x", ""),
        ] {
            let mut bytes = b"!<arch>\n".to_vec();
            bytes.extend(header(name, size));
            let mut ar = ArReader::new(bytes.as_slice()).unwrap();
            let result = ar.next_member().and_then(|_| {
                let mut sink = Vec::new();
                ar.member()
                    .read_to_end(&mut sink)
                    .map_err(|e| e.to_string())
            });
            assert!(result.is_err(), "{name} {size}");
        }
        assert!(ArReader::new(&b"!<arch>"[..]).is_err());
    }
}
