//! The archive a store entry travels in: `kiln-archive-1`, a NAR-like serialisation of one
//! tree, compressed with zstd. It is written once, read as a stream, and specified here.
//!
//! ```text
//! archive  := "kiln-archive-1\0" node
//! node     := 'F' mode:u32 owner:u32 group:u32 size:u64 <size bytes>
//!           | 'D' mode:u32 owner:u32 group:u32 count:u64 (len:u64 <len bytes of name> node){count}
//!           | 'L' owner:u32 group:u32 len:u64 <len bytes of target>
//! ```
//!
//! Integers are little-endian. `mode` is the permission bits the store's tree hash covers
//! (`0o7555`: all but the write bits, which the store clears when it seals an entry). A
//! directory's children come in strictly increasing bytewise order of their names, so one tree
//! has exactly one archive, and a name is never empty, `.`, `..`, or holds `/` or NUL.
//!
//! **Owners.** The store's tree hash (format 2) covers owners, but a user's uid means nothing on
//! another machine. An owner or group equal to the packing process's own is written as
//! [`SELF`], "the extracting user", and extraction leaves such nodes owned by whoever extracts;
//! any other id is written as is and set with `lchown`, which only root can do. So an entry an
//! unprivileged builder made (all its own) extracts for any user, and a root-built entry with
//! `root:shadow` files extracts with those owners for root. Whether root or a user built an
//! entry can still change its bytes (`package-tree` records fakeroot's owners without root), so
//! the manifest says which ([`crate::manifest::BuilderClass`]) and a consumer takes only its
//! own class. The extracted tree is then hashed by the store like any build output, with the
//! extracting user's owners, and `kiln store verify` checks it against that record.
//!
//! The content hash a manifest signs is the blake3 of the uncompressed archive, which does not
//! depend on who extracts it; the archive hash is the blake3 of the compressed object, checked
//! before a byte of it is decompressed.

use kiln_store::Digest;
use std::fs;
use std::io::{self, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

const MAGIC: &[u8] = b"kiln-archive-1\0";
/// "The extracting user" in an owner or group field.
pub(crate) const SELF: u32 = u32::MAX;
const MODE_BITS: u32 = 0o7555;
/// Deeper nesting is refused when reading: no store entry is near it.
const MAX_DEPTH: usize = 256;
const ZSTD_LEVEL: i32 = 3;

/// What packing produced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Packed {
    /// blake3 of the uncompressed archive: what the manifest signs as the entry's content.
    pub(crate) content: Digest,
    pub(crate) content_size: u64,
    /// blake3 of the compressed file.
    pub(crate) archive: Digest,
    pub(crate) archive_size: u64,
}

/// Writes the archive of the tree at `path`, compressed, to `dest`.
pub(crate) fn pack(path: &Path, dest: &Path) -> io::Result<Packed> {
    let file = fs::File::create(dest)?;
    let hashing = HashWriter::new(io::BufWriter::new(file));
    let encoder = zstd::stream::write::Encoder::new(hashing, ZSTD_LEVEL)?;
    let mut out = HashWriter::new(encoder);
    out.write_all(MAGIC)?;
    let me = (
        rustix::process::geteuid().as_raw(),
        rustix::process::getegid().as_raw(),
    );
    pack_node(path, &mut out, me)?;
    let (encoder, content, content_size) = out.finish();
    let hashing = encoder.finish()?;
    let (buffered, archive, archive_size) = hashing.finish();
    buffered
        .into_inner()
        .map_err(|e| e.into_error())?
        .sync_all()?;
    Ok(Packed {
        content,
        content_size,
        archive,
        archive_size,
    })
}

fn owner_fields(meta: &fs::Metadata, me: (u32, u32)) -> [u8; 8] {
    let uid = if meta.uid() == me.0 { SELF } else { meta.uid() };
    let gid = if meta.gid() == me.1 { SELF } else { meta.gid() };
    let mut out = [0u8; 8];
    out[..4].copy_from_slice(&uid.to_le_bytes());
    out[4..].copy_from_slice(&gid.to_le_bytes());
    out
}

fn pack_node(path: &Path, out: &mut impl Write, me: (u32, u32)) -> io::Result<()> {
    let meta = fs::symlink_metadata(path)?;
    let kind = meta.file_type();
    let mode = (meta.permissions().mode() & MODE_BITS).to_le_bytes();
    if kind.is_symlink() {
        let target = fs::read_link(path)?;
        let target = target.as_os_str().as_bytes();
        out.write_all(b"L")?;
        out.write_all(&owner_fields(&meta, me))?;
        out.write_all(&(target.len() as u64).to_le_bytes())?;
        out.write_all(target)?;
    } else if kind.is_dir() {
        let mut names: Vec<_> = fs::read_dir(path)?
            .map(|e| e.map(|e| e.file_name()))
            .collect::<io::Result<_>>()?;
        names.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
        out.write_all(b"D")?;
        out.write_all(&mode)?;
        out.write_all(&owner_fields(&meta, me))?;
        out.write_all(&(names.len() as u64).to_le_bytes())?;
        for name in names {
            let bytes = name.as_bytes();
            out.write_all(&(bytes.len() as u64).to_le_bytes())?;
            out.write_all(bytes)?;
            pack_node(&path.join(&name), out, me)?;
        }
    } else if kind.is_file() {
        out.write_all(b"F")?;
        out.write_all(&mode)?;
        out.write_all(&owner_fields(&meta, me))?;
        out.write_all(&meta.len().to_le_bytes())?;
        let copied = io::copy(&mut fs::File::open(path)?.take(meta.len()), out)?;
        if copied != meta.len() {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("{} shrank while it was packed", path.display()),
            ));
        }
    } else {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "{} is neither a file, a directory nor a symlink",
                path.display()
            ),
        ));
    }
    Ok(())
}

/// Why an archive was refused.
#[derive(Debug)]
pub(crate) enum UnpackError {
    Io(io::Error),
    /// Not a well-formed archive.
    Malformed(String),
    /// Well-formed, but its content hash is not the one expected.
    Mismatch {
        expected: Digest,
        actual: Digest,
    },
    /// It names an owner this process cannot give (only root can).
    Owner(u32),
}

impl std::fmt::Display for UnpackError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            UnpackError::Io(e) => write!(f, "{e}"),
            UnpackError::Malformed(why) => write!(f, "the archive is malformed: {why}"),
            UnpackError::Mismatch { expected, actual } => write!(
                f,
                "its content hashes to {actual}, but the manifest says {expected}"
            ),
            UnpackError::Owner(id) => {
                write!(f, "it has files owned by id {id}, which only root can give")
            }
        }
    }
}

impl From<io::Error> for UnpackError {
    fn from(e: io::Error) -> UnpackError {
        UnpackError::Io(e)
    }
}

/// Extracts the compressed archive `file` to `out` (which must not exist), checking that its
/// uncompressed bytes hash to `expected`. On any error `out` may hold a partial tree, which the
/// caller removes.
pub(crate) fn unpack(file: &Path, out: &Path, expected: &Digest) -> Result<(), UnpackError> {
    let decoder = zstd::stream::read::Decoder::new(fs::File::open(file)?)?;
    let mut input = HashReader {
        inner: decoder,
        hasher: blake3::Hasher::new(),
    };
    let mut magic = [0u8; MAGIC.len()];
    read_exact(&mut input, &mut magic)?;
    if magic != MAGIC {
        return Err(UnpackError::Malformed(
            "it does not start with `kiln-archive-1`".into(),
        ));
    }
    let root = rustix::process::geteuid().is_root();
    unpack_node(&mut input, out, 0, root)?;
    let mut extra = [0u8; 1];
    if input.read(&mut extra)? != 0 {
        return Err(UnpackError::Malformed("bytes follow the tree".into()));
    }
    let actual = Digest::from_hasher(&input.hasher);
    if actual != *expected {
        return Err(UnpackError::Mismatch {
            expected: *expected,
            actual,
        });
    }
    Ok(())
}

fn read_exact(input: &mut impl Read, buf: &mut [u8]) -> Result<(), UnpackError> {
    input.read_exact(buf).map_err(|e| {
        if e.kind() == io::ErrorKind::UnexpectedEof {
            UnpackError::Malformed("it ends early".into())
        } else {
            UnpackError::Io(e)
        }
    })
}

fn read_u32(input: &mut impl Read) -> Result<u32, UnpackError> {
    let mut buf = [0u8; 4];
    read_exact(input, &mut buf)?;
    Ok(u32::from_le_bytes(buf))
}

fn read_u64(input: &mut impl Read) -> Result<u64, UnpackError> {
    let mut buf = [0u8; 8];
    read_exact(input, &mut buf)?;
    Ok(u64::from_le_bytes(buf))
}

/// A name or symlink target: at most 4 KiB (PATH_MAX).
fn read_bytes(input: &mut impl Read) -> Result<Vec<u8>, UnpackError> {
    let len = read_u64(input)?;
    if len > 4096 {
        return Err(UnpackError::Malformed(format!("a name of {len} bytes")));
    }
    let mut buf = vec![0u8; len as usize];
    read_exact(input, &mut buf)?;
    Ok(buf)
}

fn set_owner(path: &Path, uid: u32, gid: u32, root: bool) -> Result<(), UnpackError> {
    if uid == SELF && gid == SELF {
        return Ok(());
    }
    if !root {
        return Err(UnpackError::Owner(if uid == SELF { gid } else { uid }));
    }
    let uid = (uid != SELF).then_some(uid);
    let gid = (gid != SELF).then_some(gid);
    std::os::unix::fs::lchown(path, uid, gid)?;
    Ok(())
}

fn unpack_node(
    input: &mut impl Read,
    path: &Path,
    depth: usize,
    root: bool,
) -> Result<(), UnpackError> {
    if depth > MAX_DEPTH {
        return Err(UnpackError::Malformed("it nests too deep".into()));
    }
    let mut tag = [0u8; 1];
    read_exact(input, &mut tag)?;
    match tag[0] {
        b'L' => {
            let (uid, gid) = (read_u32(input)?, read_u32(input)?);
            let target = read_bytes(input)?;
            if target.is_empty() || target.contains(&0) {
                return Err(UnpackError::Malformed("an empty symlink target".into()));
            }
            std::os::unix::fs::symlink(std::ffi::OsStr::from_bytes(&target), path)?;
            set_owner(path, uid, gid, root)?;
        }
        b'F' => {
            let mode = read_u32(input)?;
            let (uid, gid) = (read_u32(input)?, read_u32(input)?);
            check_mode(mode)?;
            let size = read_u64(input)?;
            let mut file = fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(path)?;
            let copied = io::copy(&mut input.take(size), &mut file)?;
            if copied != size {
                return Err(UnpackError::Malformed("it ends inside a file".into()));
            }
            drop(file);
            set_owner(path, uid, gid, root)?;
            // After chown, which clears setuid and setgid.
            fs::set_permissions(path, fs::Permissions::from_mode(mode))?;
        }
        b'D' => {
            let mode = read_u32(input)?;
            let (uid, gid) = (read_u32(input)?, read_u32(input)?);
            check_mode(mode)?;
            let count = read_u64(input)?;
            fs::create_dir(path)?;
            let mut previous: Option<Vec<u8>> = None;
            for _ in 0..count {
                let name = read_bytes(input)?;
                if name.is_empty()
                    || name == b"."
                    || name == b".."
                    || name.contains(&b'/')
                    || name.contains(&0)
                {
                    return Err(UnpackError::Malformed(format!(
                        "the name `{}`",
                        String::from_utf8_lossy(&name)
                    )));
                }
                if previous.as_ref().is_some_and(|p| *p >= name) {
                    return Err(UnpackError::Malformed("names out of order".into()));
                }
                unpack_node(
                    input,
                    &path.join(std::ffi::OsStr::from_bytes(&name)),
                    depth + 1,
                    root,
                )?;
                previous = Some(name);
            }
            set_owner(path, uid, gid, root)?;
            fs::set_permissions(path, fs::Permissions::from_mode(mode))?;
        }
        other => {
            return Err(UnpackError::Malformed(format!(
                "unknown node kind {other:#x}"
            )));
        }
    }
    Ok(())
}

fn check_mode(mode: u32) -> Result<(), UnpackError> {
    if mode & !MODE_BITS != 0 {
        return Err(UnpackError::Malformed(format!("the mode {mode:o}")));
    }
    Ok(())
}

/// Hashes and counts what passes through to `inner`.
struct HashWriter<W> {
    inner: W,
    hasher: blake3::Hasher,
    size: u64,
}

impl<W: Write> HashWriter<W> {
    fn new(inner: W) -> Self {
        HashWriter {
            inner,
            hasher: blake3::Hasher::new(),
            size: 0,
        }
    }

    fn finish(self) -> (W, Digest, u64) {
        (self.inner, Digest::from_hasher(&self.hasher), self.size)
    }
}

impl<W: Write> Write for HashWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.size += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

struct HashReader<R> {
    inner: R,
    hasher: blake3::Hasher,
}

impl<R: Read> Read for HashReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The blake3 hash and size of a file.
    fn hash_file(path: &Path) -> io::Result<(Digest, u64)> {
        let mut hasher = blake3::Hasher::new();
        let size = io::copy(&mut fs::File::open(path)?, &mut hasher)?;
        Ok((Digest::from_hasher(&hasher), size))
    }

    fn tree(dir: &Path) -> std::path::PathBuf {
        let root = dir.join("tree");
        fs::create_dir_all(root.join("sub/deeper")).unwrap();
        fs::write(root.join("a.txt"), b"alpha").unwrap();
        fs::write(root.join("sub/run"), b"#!/bin/sh\n").unwrap();
        fs::set_permissions(root.join("sub/run"), fs::Permissions::from_mode(0o4755)).unwrap();
        std::os::unix::fs::symlink("../a.txt", root.join("sub/link")).unwrap();
        fs::write(root.join("sub/deeper/empty"), b"").unwrap();
        root
    }

    #[test]
    fn pack_unpack_round_trip_keeps_the_tree_hash() {
        let dir = tempfile::tempdir().unwrap();
        let root = tree(dir.path());
        let packed = pack(&root, &dir.path().join("a.kar.zst")).unwrap();
        assert_eq!(
            hash_file(&dir.path().join("a.kar.zst")).unwrap(),
            (packed.archive, packed.archive_size)
        );
        let out = dir.path().join("out");
        unpack(&dir.path().join("a.kar.zst"), &out, &packed.content).unwrap();
        assert_eq!(
            kiln_store::hash_tree(&root).unwrap(),
            kiln_store::hash_tree(&out).unwrap()
        );
        // Deterministic: the same tree packs to the same bytes.
        let again = pack(&out, &dir.path().join("b.kar.zst")).unwrap();
        assert_eq!(again, packed);
    }

    #[test]
    fn a_wrong_hash_or_a_flipped_byte_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let root = tree(dir.path());
        let file = dir.path().join("a.kar.zst");
        let packed = pack(&root, &file).unwrap();
        let wrong = Digest::of(b"other");
        assert!(matches!(
            unpack(&file, &dir.path().join("o1"), &wrong),
            Err(UnpackError::Mismatch { .. })
        ));
        let mut bytes = fs::read(&file).unwrap();
        let middle = bytes.len() / 2;
        bytes[middle] ^= 0x40;
        fs::write(&file, bytes).unwrap();
        assert!(unpack(&file, &dir.path().join("o2"), &packed.content).is_err());
    }

    #[test]
    fn hostile_names_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let mut raw = MAGIC.to_vec();
        raw.push(b'D');
        raw.extend(0o755u32.to_le_bytes());
        raw.extend(SELF.to_le_bytes());
        raw.extend(SELF.to_le_bytes());
        raw.extend(1u64.to_le_bytes());
        raw.extend(2u64.to_le_bytes());
        raw.extend(b"..");
        let file = dir.path().join("bad.kar.zst");
        fs::write(&file, zstd::encode_all(&raw[..], 3).unwrap()).unwrap();
        let err = unpack(&file, &dir.path().join("out"), &Digest::of(&raw)).unwrap_err();
        assert!(matches!(err, UnpackError::Malformed(_)), "{err}");
    }
}
