//! The initrd container: a deterministic cpio archive in the "new ASCII" (newc, magic `070701`)
//! format, which is the only format the Linux kernel unpacks as an initramfs.
//!
//! Format (`man 5 cpio`, section "New ASCII Format"; the kernel's
//! `Documentation/driver-api/early-userspace/buffer-format.rst`): each member is a 110-byte
//! header of ASCII fields, the NUL-terminated name padded so that header + name is a multiple of
//! 4 bytes, then the data padded to a multiple of 4. The archive ends with a member named
//! `TRAILER!!!`. Every numeric field is 8 hexadecimal digits, so sizes, times and inode numbers
//! are 32-bit: a file over 4 GiB is an [`ImageError::FieldOverflow`], never a silent truncation.
//!
//! Determinism: entries are sorted by path bytes (parents before children), missing parent
//! directories are added with mode 0755, owners are 0, every mtime is [`CpioOptions::mtime`]
//! (from `SOURCE_DATE_EPOCH`, else 0), inode numbers count up from 1 in archive order, and the
//! check field is 0. Hard links are not written; each file carries its own data.
//!
//! Compression streams the archive through zstd (multi-threaded), xz or gzip into a temporary
//! file next to the destination, which is renamed into place only once everything was written,
//! so a full disk leaves no half-written initrd.

pub mod read;

use crate::ImageError;
use std::collections::BTreeSet;
use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Linux `PATH_MAX`, which includes the terminating NUL; the kernel's unpacker refuses longer
/// names (`init/initramfs.c`, `do_header`).
pub const PATH_MAX: usize = 4096;

/// newc header magic, `man 5 cpio`.
const NEWC_MAGIC: &[u8; 6] = b"070701";
/// Header length: 6 bytes of magic and 13 fields of 8 hex digits.
const NEWC_HEADER_LEN: usize = 6 + 13 * 8;
/// The name of the member that ends an archive.
const TRAILER: &str = "TRAILER!!!";

/// File type bits of `c_mode` (`man 5 cpio`, `<sys/stat.h>`); `S_IFMT` masks them.
pub const S_IFMT: u32 = 0o170000;
pub const S_IFDIR: u32 = 0o040000;
pub const S_IFREG: u32 = 0o100000;
pub const S_IFLNK: u32 = 0o120000;
pub const S_IFCHR: u32 = 0o020000;
pub const S_IFBLK: u32 = 0o060000;

/// A path inside the archive: relative, `/`-separated, no empty, `.` or `..` component, no
/// NUL, and short enough for the kernel. Checked once, at construction.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CpioPath(String);

impl CpioPath {
    pub fn new(path: impl Into<String>) -> Result<CpioPath, ImageError> {
        let path = path.into();
        let reason = if path.is_empty() {
            Some("the path is empty")
        } else if path.starts_with('/') {
            Some("the path is absolute")
        } else if path.contains('\0') {
            Some("the path contains a NUL byte")
        } else if path.len() + 1 > PATH_MAX {
            Some("the path is longer than PATH_MAX (4096 bytes with its NUL)")
        } else if path == TRAILER {
            Some("`TRAILER!!!` ends an archive and cannot name an entry")
        } else if path
            .split('/')
            .any(|c| c.is_empty() || c == "." || c == "..")
        {
            Some("the path has an empty, `.` or `..` component")
        } else {
            None
        };
        match reason {
            Some(reason) => Err(ImageError::InvalidCpioPath { path, reason }),
            None => Ok(CpioPath(path)),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The parent directory, or `None` at the top level.
    pub fn parent(&self) -> Option<CpioPath> {
        self.0
            .rfind('/')
            .map(|idx| CpioPath(self.0[..idx].to_owned()))
    }

    /// `self/name`; `name` is checked like any path.
    pub fn join(&self, name: &str) -> Result<CpioPath, ImageError> {
        CpioPath::new(format!("{}/{name}", self.0))
    }
}

impl std::fmt::Display for CpioPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// One archive member. `mode` holds permission bits only (`0o7777`); the kind adds the type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub path: CpioPath,
    pub mode: u32,
    pub kind: EntryKind,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EntryKind {
    Dir,
    File(FileSource),
    /// The target is stored as the member's data, without a NUL.
    Symlink(String),
    CharDevice {
        major: u32,
        minor: u32,
    },
    BlockDevice {
        major: u32,
        minor: u32,
    },
}

/// Where a regular file's bytes come from. Files are streamed from disk when written, so an
/// initrd of any size needs little memory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FileSource {
    Path(PathBuf),
    Bytes(Arc<[u8]>),
}

impl Entry {
    pub fn dir(path: CpioPath, mode: u32) -> Entry {
        Entry {
            path,
            mode: mode & 0o7777,
            kind: EntryKind::Dir,
        }
    }

    pub fn bytes(path: CpioPath, mode: u32, data: impl Into<Arc<[u8]>>) -> Entry {
        Entry {
            path,
            mode: mode & 0o7777,
            kind: EntryKind::File(FileSource::Bytes(data.into())),
        }
    }

    pub fn file(path: CpioPath, mode: u32, source: impl Into<PathBuf>) -> Entry {
        Entry {
            path,
            mode: mode & 0o7777,
            kind: EntryKind::File(FileSource::Path(source.into())),
        }
    }

    pub fn symlink(path: CpioPath, target: impl Into<String>) -> Entry {
        Entry {
            path,
            mode: 0o777,
            kind: EntryKind::Symlink(target.into()),
        }
    }

    pub fn char_device(path: CpioPath, mode: u32, major: u32, minor: u32) -> Entry {
        Entry {
            path,
            mode: mode & 0o7777,
            kind: EntryKind::CharDevice { major, minor },
        }
    }

    fn type_bits(&self) -> u32 {
        match self.kind {
            EntryKind::Dir => S_IFDIR,
            EntryKind::File(_) => S_IFREG,
            EntryKind::Symlink(_) => S_IFLNK,
            EntryKind::CharDevice { .. } => S_IFCHR,
            EntryKind::BlockDevice { .. } => S_IFBLK,
        }
    }
}

/// Archive-wide settings. Every member gets the same mtime and owner 0.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CpioOptions {
    pub mtime: u32,
}

impl CpioOptions {
    /// The mtime from a value of `SOURCE_DATE_EPOCH`
    /// (<https://reproducible-builds.org/specs/source-date-epoch/>); an empty value counts as
    /// unset (0), as the specification asks. The library never reads the environment itself:
    /// kiln's builders take the time from their derivation.
    pub fn from_source_date_epoch(value: Option<&str>) -> Result<CpioOptions, ImageError> {
        match value.map(str::trim) {
            None | Some("") => Ok(CpioOptions::default()),
            Some(text) => match text.parse::<u32>() {
                Ok(mtime) => Ok(CpioOptions { mtime }),
                Err(_) => Err(ImageError::BadSourceDateEpoch {
                    value: text.to_owned(),
                }),
            },
        }
    }
}

/// How the archive is compressed (`boot.initrd.compressor`). The kernel must have the matching
/// decompressor built in; Debian's has all three.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compressor {
    /// zstd at `level`, multi-threaded on all cores.
    Zstd {
        level: i32,
    },
    /// xz at `level` with a CRC32 check, as the kernel's xz decoder requires
    /// (`Documentation/staging/xz.rst`).
    Xz {
        level: u32,
    },
    Gzip {
        level: u32,
    },
    None,
}

impl Compressor {
    /// From `boot.initrd.compressor` (a command name or a path to one, as in NixOS) and
    /// `boot.initrd.compressorArgs`, of which only a level (`-19`) is understood; other
    /// arguments (`-T0`, `--check=crc32`) are what kiln does anyway. `cat` means uncompressed.
    pub fn from_config(command: &str, args: &[String]) -> Result<Compressor, ImageError> {
        let name = command.rsplit('/').next().unwrap_or(command);
        let level = args
            .iter()
            .rev()
            .filter_map(|arg| arg.strip_prefix('-'))
            .filter(|rest| !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_digit()))
            .filter_map(|digits| digits.parse::<u32>().ok())
            .next();
        match name {
            "zstd" => {
                let level = level.map_or(Ok(3), i32::try_from);
                match level {
                    Ok(level) if (1..=22).contains(&level) => Ok(Compressor::Zstd { level }),
                    _ => Err(ImageError::UnsupportedCompressor {
                        command: command.to_owned(),
                    }),
                }
            }
            "xz" => Ok(Compressor::Xz {
                level: level.unwrap_or(6).min(9),
            }),
            "gzip" | "pigz" => Ok(Compressor::Gzip {
                level: level.unwrap_or(9).min(9),
            }),
            "cat" => Ok(Compressor::None),
            _ => Err(ImageError::UnsupportedCompressor {
                command: command.to_owned(),
            }),
        }
    }
}

impl Default for Compressor {
    /// zstd level 3, the `zstd` command's default.
    fn default() -> Compressor {
        Compressor::Zstd { level: 3 }
    }
}

/// What [`write_newc`] wrote.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CpioStats {
    /// Members including added parent directories, without the trailer.
    pub n_entries: u32,
    /// Uncompressed archive length.
    pub archive_len: u64,
}

/// Writes `entries` as a newc archive to `out`, sorted, with missing parent directories added.
/// Duplicate paths are an error.
pub fn write_newc<W: Write>(
    out: W,
    entries: Vec<Entry>,
    options: &CpioOptions,
) -> Result<CpioStats, ImageError> {
    let entries = normalize(entries)?;
    let mut writer = NewcWriter {
        out,
        offset: 0,
        next_ino: 1,
        mtime: options.mtime,
        buf: vec![0; COPY_BUF_LEN],
    };
    let n_entries = u32::try_from(entries.len()).map_err(|_| ImageError::FieldOverflow {
        path: String::new(),
        field: "entry count",
        value: u64::try_from(entries.len()).unwrap_or(u64::MAX),
        limit: u64::from(u32::MAX),
    })?;
    for entry in &entries {
        writer.write_entry(entry)?;
    }
    writer.write_trailer()?;
    writer
        .out
        .flush()
        .map_err(ImageError::io("<cpio output>"))?;
    Ok(CpioStats {
        n_entries,
        archive_len: writer.offset,
    })
}

/// Writes `entries` compressed to `dest`, through a temporary file in the same directory that is
/// renamed into place at the end; on any error nothing is left at `dest`.
pub fn write_initrd(
    dest: &Path,
    entries: Vec<Entry>,
    options: &CpioOptions,
    compressor: Compressor,
) -> Result<CpioStats, ImageError> {
    let dir = match dest.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let temp = tempfile::Builder::new()
        .prefix(".kiln-initrd")
        .tempfile_in(dir)
        .map_err(ImageError::io(dir))?;
    let io_err = ImageError::io(temp.path().to_path_buf());
    let file = temp
        .as_file()
        .try_clone()
        .map_err(ImageError::io(temp.path()))?;
    let buffered = BufWriter::with_capacity(1 << 20, file);
    let stats = match compressor {
        Compressor::Zstd { level } => {
            let mut encoder = zstd::stream::Encoder::new(buffered, level).map_err(io_err)?;
            configure_zstd(&mut encoder).map_err(ImageError::io(temp.path()))?;
            let stats = write_newc(&mut encoder, entries, options)?;
            finish(encoder.finish(), temp.path())?;
            stats
        }
        Compressor::Xz { level } => {
            let stream =
                liblzma::stream::Stream::new_easy_encoder(level, liblzma::stream::Check::Crc32)
                    .map_err(|e| ImageError::Io {
                        path: temp.path().to_path_buf(),
                        source: e.into(),
                    })?;
            let mut encoder = liblzma::write::XzEncoder::new_stream(buffered, stream);
            let stats = write_newc(&mut encoder, entries, options)?;
            finish(encoder.finish(), temp.path())?;
            stats
        }
        Compressor::Gzip { level } => {
            // `GzBuilder` leaves the header mtime at 0 and stores no file name.
            let mut encoder =
                flate2::GzBuilder::new().write(buffered, flate2::Compression::new(level.min(9)));
            let stats = write_newc(&mut encoder, entries, options)?;
            finish(encoder.finish(), temp.path())?;
            stats
        }
        Compressor::None => {
            let mut buffered = buffered;
            let stats = write_newc(&mut buffered, entries, options)?;
            finish(Ok(buffered), temp.path())?;
            stats
        }
    };
    // No fsync: like xorriso, mksquashfs and Nix's builds, the bytes reach the disk when the
    // kernel writes them back (a crash before that is what `kiln store verify` finds); a full
    // disk fails the write itself.
    temp.persist(dest).map_err(|e| ImageError::Io {
        path: dest.to_path_buf(),
        source: e.error,
    })?;
    Ok(stats)
}

/// zstd with worker threads always on, one per rayon thread (so `RAYON_NUM_THREADS` bounds it
/// like every other parallel step). With one or more workers zstd's output is the same for any
/// worker count (`ZSTD_c_nbWorkers` in `zstd.h`), so the bytes do not depend on the machine;
/// `initrd_zstd_bytes_do_not_depend_on_thread_count` checks it. The checksum matches what the
/// `zstd` command writes.
fn configure_zstd<W: Write>(encoder: &mut zstd::stream::Encoder<'_, W>) -> io::Result<()> {
    let workers = rayon::current_num_threads().max(1);
    encoder.multithread(u32::try_from(workers).unwrap_or(u32::MAX))?;
    encoder.include_checksum(true)?;
    Ok(())
}

fn finish(result: io::Result<BufWriter<File>>, path: &Path) -> Result<(), ImageError> {
    let mut buffered = result.map_err(ImageError::io(path))?;
    buffered.flush().map_err(ImageError::io(path))
}

/// Builds entries for everything under `root` (not `root` itself), following no symlinks:
/// directories, regular files (read when the archive is written), symlinks. Permission bits
/// are kept; owners and times are not, since the writer fixes them.
pub fn entries_from_dir(root: &Path) -> Result<Vec<Entry>, ImageError> {
    let mut res = Vec::new();
    let mut stack = vec![(root.to_path_buf(), None::<CpioPath>)];
    while let Some((dir, prefix)) = stack.pop() {
        for item in std::fs::read_dir(&dir).map_err(ImageError::io(&dir))? {
            let item = item.map_err(ImageError::io(&dir))?;
            let fs_path = item.path();
            let name =
                item.file_name()
                    .into_string()
                    .map_err(|name| ImageError::InvalidCpioPath {
                        path: name.to_string_lossy().into_owned(),
                        reason: "the name is not UTF-8",
                    })?;
            let path = match &prefix {
                Some(prefix) => prefix.join(&name)?,
                None => CpioPath::new(name)?,
            };
            let meta = std::fs::symlink_metadata(&fs_path).map_err(ImageError::io(&fs_path))?;
            let mode = permission_bits(&meta);
            if meta.is_dir() {
                res.push(Entry::dir(path.clone(), mode));
                stack.push((fs_path, Some(path)));
            } else if meta.file_type().is_symlink() {
                let target = std::fs::read_link(&fs_path).map_err(ImageError::io(&fs_path))?;
                let target = target.into_os_string().into_string().map_err(|t| {
                    ImageError::InvalidCpioPath {
                        path: t.to_string_lossy().into_owned(),
                        reason: "the symlink target is not UTF-8",
                    }
                })?;
                res.push(Entry::symlink(path, target));
            } else if meta.is_file() {
                res.push(Entry::file(path, mode, fs_path));
            }
            // Sockets, fifos and device nodes in a staging tree are skipped; device nodes
            // that the initrd needs are added explicitly with `Entry::char_device`.
        }
    }
    Ok(res)
}

#[cfg(unix)]
fn permission_bits(meta: &std::fs::Metadata) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o7777
}

#[cfg(not(unix))]
fn permission_bits(meta: &std::fs::Metadata) -> u32 {
    if meta.is_dir() {
        0o755
    } else {
        0o644
    }
}

/// Sorts by path, rejects duplicates and adds missing parent directories (mode 0755), so the
/// kernel's unpacker, which creates no parents, sees every directory before its contents.
fn normalize(mut entries: Vec<Entry>) -> Result<Vec<Entry>, ImageError> {
    entries.sort_by(|a, b| a.path.cmp(&b.path));
    for pair in entries.windows(2) {
        if pair[0].path == pair[1].path {
            return Err(ImageError::DuplicateCpioPath {
                path: pair[0].path.0.clone(),
            });
        }
    }
    let present: BTreeSet<&CpioPath> = entries.iter().map(|e| &e.path).collect();
    let mut missing = BTreeSet::new();
    for entry in &entries {
        let mut parent = entry.path.parent();
        while let Some(dir) = parent {
            if present.contains(&dir) || missing.contains(&dir) {
                break;
            }
            parent = dir.parent();
            missing.insert(dir);
        }
    }
    if missing.is_empty() {
        return Ok(entries);
    }
    entries.extend(missing.into_iter().map(|dir| Entry::dir(dir, 0o755)));
    entries.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(entries)
}

/// The streaming writer; `offset` counts bytes written so padding can be computed.
struct NewcWriter<W> {
    out: W,
    offset: u64,
    next_ino: u32,
    mtime: u32,
    /// Reused for copying file contents.
    buf: Vec<u8>,
}

/// File copy chunk: large enough that per-call overhead in the compressor is noise.
const COPY_BUF_LEN: usize = 1 << 20;

/// The thirteen numeric fields of a newc header, in on-disk order (`man 5 cpio`).
struct NewcHeader {
    ino: u32,
    mode: u32,
    uid: u32,
    gid: u32,
    nlink: u32,
    mtime: u32,
    filesize: u32,
    devmajor: u32,
    devminor: u32,
    rdevmajor: u32,
    rdevminor: u32,
    namesize: u32,
    check: u32,
}

impl NewcHeader {
    fn encode(&self) -> [u8; NEWC_HEADER_LEN] {
        let mut buf = [0u8; NEWC_HEADER_LEN];
        buf[..6].copy_from_slice(NEWC_MAGIC);
        let fields = [
            self.ino,
            self.mode,
            self.uid,
            self.gid,
            self.nlink,
            self.mtime,
            self.filesize,
            self.devmajor,
            self.devminor,
            self.rdevmajor,
            self.rdevminor,
            self.namesize,
            self.check,
        ];
        for (idx, value) in fields.iter().enumerate() {
            let hex = format!("{value:08x}");
            let start = 6 + idx * 8;
            buf[start..start + 8].copy_from_slice(hex.as_bytes());
        }
        buf
    }
}

/// Bytes needed to bring `len` to a multiple of 4.
pub(crate) fn pad4(len: u64) -> usize {
    match len % 4 {
        0 => 0,
        1 => 3,
        2 => 2,
        _ => 1,
    }
}

impl<W: Write> NewcWriter<W> {
    fn put(&mut self, bytes: &[u8]) -> Result<(), ImageError> {
        self.out
            .write_all(bytes)
            .map_err(ImageError::io("<cpio output>"))?;
        self.offset += u64::try_from(bytes.len()).unwrap_or(u64::MAX);
        Ok(())
    }

    fn pad(&mut self) -> Result<(), ImageError> {
        let n = pad4(self.offset);
        self.put(&[0u8; 3][..n])
    }

    fn header_and_name(&mut self, name: &str, header: NewcHeader) -> Result<(), ImageError> {
        self.put(&header.encode())?;
        self.put(name.as_bytes())?;
        self.put(&[0])?;
        self.pad()
    }

    fn write_entry(&mut self, entry: &Entry) -> Result<(), ImageError> {
        let name = entry.path.as_str();
        let overflow = |field: &'static str, value: u64| ImageError::FieldOverflow {
            path: name.to_owned(),
            field,
            value,
            limit: u64::from(u32::MAX),
        };
        // The name length including its NUL is at most PATH_MAX, checked by `CpioPath`.
        let namesize = u32::try_from(name.len() + 1)
            .map_err(|_| overflow("name size", u64::try_from(name.len()).unwrap_or(u64::MAX)))?;
        let ino = self.next_ino;
        self.next_ino = self
            .next_ino
            .checked_add(1)
            .ok_or_else(|| overflow("inode number", u64::from(u32::MAX) + 1))?;
        let (rdevmajor, rdevminor) = match entry.kind {
            EntryKind::CharDevice { major, minor } | EntryKind::BlockDevice { major, minor } => {
                (major, minor)
            }
            _ => (0, 0),
        };
        let mut header = NewcHeader {
            ino,
            mode: entry.type_bits() | (entry.mode & 0o7777),
            uid: 0,
            gid: 0,
            nlink: if matches!(entry.kind, EntryKind::Dir) {
                2
            } else {
                1
            },
            mtime: self.mtime,
            filesize: 0,
            devmajor: 0,
            devminor: 0,
            rdevmajor,
            rdevminor,
            namesize,
            check: 0,
        };
        match &entry.kind {
            EntryKind::Dir | EntryKind::CharDevice { .. } | EntryKind::BlockDevice { .. } => {
                self.header_and_name(name, header)
            }
            EntryKind::Symlink(target) => {
                let len = u64::try_from(target.len()).unwrap_or(u64::MAX);
                header.filesize =
                    u32::try_from(len).map_err(|_| overflow("symlink target size", len))?;
                self.header_and_name(name, header)?;
                self.put(target.as_bytes())?;
                self.pad()
            }
            EntryKind::File(FileSource::Bytes(data)) => {
                let len = u64::try_from(data.len()).unwrap_or(u64::MAX);
                header.filesize = u32::try_from(len).map_err(|_| overflow("file size", len))?;
                self.header_and_name(name, header)?;
                self.put(data)?;
                self.pad()
            }
            EntryKind::File(FileSource::Path(source)) => {
                let file = File::open(source).map_err(ImageError::io(source))?;
                let len = file.metadata().map_err(ImageError::io(source))?.len();
                header.filesize = u32::try_from(len).map_err(|_| overflow("file size", len))?;
                self.header_and_name(name, header)?;
                // Copy exactly `len` bytes; a file that shrank or grew since `metadata` would
                // corrupt the archive, so both are errors. The copy goes through one large
                // reused buffer: zstd's streaming API costs per call, and `io::copy`'s 8 KiB
                // chunks made that cost visible.
                let mut file = file;
                let mut copied = 0u64;
                while copied < len {
                    let want = usize::try_from(len - copied)
                        .unwrap_or(usize::MAX)
                        .min(self.buf.len());
                    let n = file
                        .read(&mut self.buf[..want])
                        .map_err(ImageError::io(source))?;
                    if n == 0 {
                        break;
                    }
                    self.out
                        .write_all(&self.buf[..n])
                        .map_err(ImageError::io("<cpio output>"))?;
                    copied += u64::try_from(n).unwrap_or(u64::MAX);
                }
                self.offset += copied;
                let mut probe = [0u8; 1];
                let grew = file.read(&mut probe).map_err(ImageError::io(source))? > 0;
                if copied != len || grew {
                    let actual = if grew { len + 1 } else { copied };
                    return Err(ImageError::FileChanged {
                        path: source.clone(),
                        expected: len,
                        actual,
                    });
                }
                self.pad()
            }
        }
    }

    fn write_trailer(&mut self) -> Result<(), ImageError> {
        let header = NewcHeader {
            ino: 0,
            mode: 0,
            uid: 0,
            gid: 0,
            nlink: 1,
            mtime: 0,
            filesize: 0,
            devmajor: 0,
            devminor: 0,
            rdevmajor: 0,
            rdevminor: 0,
            namesize: 11,
            check: 0,
        };
        self.header_and_name(TRAILER, header)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(s: &str) -> CpioPath {
        CpioPath::new(s).unwrap()
    }

    #[test]
    fn cpio_path_rejects_bad_paths() {
        for bad in [
            "",
            "/etc",
            "a/../b",
            "a//b",
            "./a",
            "a/",
            "a\0b",
            "TRAILER!!!",
        ] {
            assert!(CpioPath::new(bad).is_err(), "{bad:?} accepted");
        }
        assert!(CpioPath::new("x".repeat(PATH_MAX)).is_err());
        assert!(CpioPath::new("x".repeat(PATH_MAX - 1)).is_ok());
        assert!(CpioPath::new("lib/modules/6.1.0-13-amd64/kernel").is_ok());
    }

    #[test]
    fn header_layout_matches_man_5_cpio() {
        let mut out = Vec::new();
        let options = CpioOptions { mtime: 0x5f5e100 };
        write_newc(
            &mut out,
            vec![Entry::bytes(path("a"), 0o644, b"hello".to_vec())],
            &options,
        )
        .unwrap();
        let expected_header = "070701\
            00000001000081a4000000000000000000000001\
            05f5e100000000050000000000000000\
            000000000000000000000002\
            00000000";
        assert_eq!(&out[..110], expected_header.as_bytes());
        // Name "a\0" then padding: 110 + 2 = 112, already aligned.
        assert_eq!(&out[110..112], b"a\0");
        // Data, then 3 bytes of padding to 120.
        assert_eq!(&out[112..117], b"hello");
        assert_eq!(&out[117..120], &[0, 0, 0]);
        assert_eq!(&out[120..126], b"070701");
        assert_eq!(out.len() % 4, 0);
    }

    #[test]
    fn parents_are_added_and_sorted() {
        let mut out = Vec::new();
        let entries = vec![
            Entry::bytes(path("b/c/d"), 0o600, Vec::new()),
            Entry::symlink(path("a"), "b/c/d"),
        ];
        let stats = write_newc(&mut out, entries, &CpioOptions::default()).unwrap();
        assert_eq!(stats.n_entries, 4);
        let names: Vec<_> = read::read_newc(&out)
            .unwrap()
            .into_iter()
            .map(|e| e.path)
            .collect();
        assert_eq!(names, ["a", "b", "b/c", "b/c/d"]);
    }

    #[test]
    fn duplicates_are_rejected() {
        let entries = vec![
            Entry::dir(path("a"), 0o755),
            Entry::bytes(path("a"), 0o644, Vec::new()),
        ];
        let err = write_newc(Vec::new(), entries, &CpioOptions::default()).unwrap_err();
        assert!(matches!(err, ImageError::DuplicateCpioPath { .. }));
    }

    #[test]
    fn pad4_is_correct() {
        for len in 0..16u64 {
            assert_eq!((len + u64::try_from(pad4(len)).unwrap()) % 4, 0);
            assert!(pad4(len) < 4);
        }
    }
}
