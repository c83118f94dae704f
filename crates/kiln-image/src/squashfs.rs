//! The live root file system: a squashfs v4 image of one directory tree (the Debian packages
//! unpacked together, plus the generated `/etc` files).
//!
//! Semantics of [`write_squashfs`]:
//! - every directory, regular file and symlink under `root` goes in, walked in byte order of
//!   names, so the same tree always gives the same bytes, whatever the thread count;
//! - permission bits are kept, setuid, setgid and sticky included; owners are the tree's
//!   ([`Owners::FromTree`]: a root dpkg configured, as root), forced to root (0:0,
//!   [`Owners::Root`]: a tree an unprivileged user put together), or looked up by path in an
//!   [`OwnerTable`] ([`Owners::Table`]: a tree whose owners could not be set on the inodes
//!   because its builder is not root, such as one configured under fakeroot); a table entry may
//!   also give the permission bits, which then replace the inode's;
//! - every inode and the superblock get `options.timestamp` as their time, except the root
//!   directory's inode, which backhand 0.25 leaves at 0 (it has no setter for it);
//! - symlink targets are stored verbatim, absolute ones too: they resolve inside the live root;
//! - hard links become copies, whose data backhand's duplicate check then stores once (for files
//!   of at least one block; smaller copies each take fragment space);
//! - no NFS export table and no xattrs are written; neither matters to a live root;
//! - fifos, sockets and device nodes are rejected with the path, since an unpacked `.deb` tree
//!   has none and `/dev` is a devtmpfs at boot;
//! - the image is written to a temporary file beside `dest` and renamed over it, so on any error
//!   nothing is left at `dest`.
//!
//! Design: the format work is done by the `backhand` crate (squashfs v4, zstd/xz/gzip, a reader
//! we use in tests). We rejected a native writer: the format has five tables and a metadata
//! block encoding that backhand already gets right and tests against `unsquashfs`. backhand's
//! writer compresses one block after another on one core, so [`prefetch`] compresses the data
//! and fragment blocks ahead of it on as many threads as the current rayon pool has, without
//! changing a byte.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsString;
use std::fs::{File, Metadata};
use std::io::{BufWriter, Read};
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::rc::Rc;

use backhand::compression::{CompressionOptions, Compressor, Gzip, Zstd};
use backhand::{
    BackhandError, FilesystemCompressor, FilesystemWriter, NodeHeader, DEFAULT_BLOCK_SIZE,
};

use crate::error::{ImageError, Result};

mod prefetch;

/// The compressor for every data and metadata block of the image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SquashfsCompression {
    /// zstd: fast to write and to read; the default for live roots.
    Zstd,
    /// xz (preset 6): the smallest images, slow to write.
    Xz,
    /// gzip (level 9): for kernels built without zstd and xz squashfs support.
    Gzip,
}

/// What [`write_squashfs`] needs besides the tree.
#[derive(Debug, Clone)]
pub struct SquashfsOptions<'a> {
    pub compression: SquashfsCompression,
    /// Seconds since the epoch for every inode and the superblock (`SOURCE_DATE_EPOCH`).
    /// Squashfs stores 32 unsigned bits: 0 to 4294967295.
    pub timestamp: i64,
    pub owners: Owners<'a>,
}

/// Whose files the image's are.
#[derive(Debug, Clone, Copy)]
pub enum Owners<'a> {
    /// Every inode belongs to root (0:0).
    Root,
    /// Each inode keeps its owner and group from the tree.
    FromTree,
    /// Each inode's owner, group and (if given) permission bits come from the table, by its path
    /// in the image; an inode the table does not name belongs to root (0:0) and keeps its own
    /// permission bits. This is how fakeroot presents a tree, and how a builder that may not
    /// `chown` records what it would have set.
    Table(&'a OwnerTable),
}

/// Owners (and, where they differ from the inode's, permission bits) by path, for
/// [`Owners::Table`].
///
/// Paths are relative to the tree's root, as the image names them without the leading `/`
/// (`usr/bin/sudo`); the root directory itself is the empty path. A path is looked up as it is
/// in the tree: the table does not follow symlinks.
///
/// ```
/// use kiln_image::squashfs::{Owner, OwnerTable};
/// let mut table = OwnerTable::default();
/// table.insert("etc/shadow", Owner { uid: 0, gid: 42, mode: None });
/// assert_eq!(table.get("etc/shadow".as_ref()).map(|o| o.gid), Some(42));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OwnerTable {
    // A BTreeMap, though only looked up, so that a table prints and compares in path order.
    entries: BTreeMap<PathBuf, Owner>,
}

/// One inode's owner and group in an [`OwnerTable`], and its permission bits when the inode's
/// own are not the ones the image should have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Owner {
    pub uid: u32,
    pub gid: u32,
    /// Permission bits (`0o7777`: setuid, setgid and sticky included) that replace the inode's;
    /// `None` keeps the inode's.
    pub mode: Option<u16>,
}

impl OwnerTable {
    /// Records `path`'s owner, replacing what was recorded for it before.
    pub fn insert(&mut self, path: impl Into<PathBuf>, owner: Owner) {
        self.entries.insert(path.into(), owner);
    }

    /// What was recorded for `path`.
    pub fn get(&self, path: &Path) -> Option<&Owner> {
        self.entries.get(path)
    }

    /// How many paths are recorded.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// What went into the image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SquashfsSummary {
    /// Image size in bytes, padding included.
    pub size: u64,
    /// Directories, the root included.
    pub dirs: usize,
    pub files: usize,
    pub symlinks: usize,
    /// Sum of the regular files' sizes.
    pub file_bytes: u64,
}

/// zstd level for data and metadata blocks. `mksquashfs` defaults to 15; level 3 makes a package
/// tree about 12% larger for a twentieth of the CPU time (`/usr/share`: 247 MB against 220 MB,
/// 3 s of CPU against 64 s; level 9: 236 MB, 9 s; see `crates/kiln-image/BENCHMARKS.md`), and a
/// live root is written on every build.
const ZSTD_LEVEL: u32 = 3;

/// gzip level; 9 is what `mksquashfs` uses.
const GZIP_LEVEL: u32 = 9;

impl SquashfsCompression {
    /// Parses a compressor name as configured (`zstd`, `xz` or `gzip`).
    pub fn from_config(name: &str) -> Result<Self> {
        match name {
            "zstd" => Ok(Self::Zstd),
            "xz" => Ok(Self::Xz),
            "gzip" => Ok(Self::Gzip),
            _ => Err(ImageError::SquashfsUnsupportedCompression {
                name: name.to_owned(),
            }),
        }
    }

    /// The configuration name, the inverse of [`Self::from_config`].
    pub fn name(self) -> &'static str {
        match self {
            Self::Zstd => "zstd",
            Self::Xz => "xz",
            Self::Gzip => "gzip",
        }
    }

    fn backhand(self) -> Result<FilesystemCompressor, BackhandError> {
        match self {
            Self::Zstd => FilesystemCompressor::new(
                Compressor::Zstd,
                Some(CompressionOptions::Zstd(Zstd {
                    compression_level: ZSTD_LEVEL,
                })),
            ),
            // No options: the dictionary is the block size, as mksquashfs does by default.
            Self::Xz => FilesystemCompressor::new(Compressor::Xz, None),
            Self::Gzip => FilesystemCompressor::new(
                Compressor::Gzip,
                Some(CompressionOptions::Gzip(Gzip {
                    compression_level: GZIP_LEVEL,
                    window_size: 15,
                    strategies: 0,
                })),
            ),
        }
    }
}

/// Writes the tree at `root` as a squashfs image at `dest`, atomically (see the module docs).
pub fn write_squashfs(
    root: &Path,
    dest: &Path,
    options: &SquashfsOptions,
) -> Result<SquashfsSummary> {
    let mtime =
        u32::try_from(options.timestamp).map_err(|_| ImageError::SquashfsTimestampRange {
            timestamp: options.timestamp,
        })?;
    let root_meta = std::fs::symlink_metadata(root).map_err(read_error(root))?;
    if !root_meta.is_dir() {
        return Err(ImageError::SquashfsRootNotDir {
            path: root.to_path_buf(),
        });
    }

    let compressor = options
        .compression
        .backhand()
        .map_err(|err| library_error(dest, err))?;
    let mut writer = FilesystemWriter::default();
    writer.set_kind(prefetch::kind());
    writer.set_block_size(DEFAULT_BLOCK_SIZE);
    writer.set_time(mtime);
    writer.set_compressor(compressor);
    let (root_uid, root_gid, root_mode) = owner(&root_meta, Path::new(""), options.owners);
    writer.set_root_mode(root_mode);
    writer.set_root_uid(root_uid);
    writer.set_root_gid(root_gid);

    // The first error a file reader hits, with its path; backhand only passes an io::Error on.
    let read_failure = Rc::new(RefCell::new(None));
    let mut ctx = Ctx {
        writer,
        mtime,
        owners: options.owners,
        read_failure: Rc::clone(&read_failure),
        prefetch: Vec::new(),
        ids: BTreeSet::from([0]),
        summary: SquashfsSummary {
            size: 0,
            dirs: 1,
            files: 0,
            symlinks: 0,
            file_bytes: 0,
        },
    };
    ctx.add_dir(root, Path::new("/"))?;
    let Ctx {
        mut writer,
        mut summary,
        prefetch,
        ids,
        ..
    } = ctx;
    if !(ids.contains(&root_uid) && ids.contains(&root_gid)) {
        return Err(ImageError::SquashfsRootOwner {
            uid: root_uid,
            gid: root_gid,
        });
    }

    let file_name = dest
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dest.with_file_name(format!(".{file_name}.kiln-tmp-{}", std::process::id()));
    let res = prefetch::with_prefetch(prefetch, compressor, DEFAULT_BLOCK_SIZE, || {
        write_to(&mut writer, &tmp, dest, &read_failure)
    })
    .and_then(|size| {
        std::fs::rename(&tmp, dest).map_err(write_error(dest))?;
        Ok(size)
    });
    if res.is_err() {
        // Best effort: the primary error is the one worth reporting.
        let _ = std::fs::remove_file(&tmp);
    }
    summary.size = res?;
    Ok(summary)
}

/// The walk's state: the image being assembled and what went into it.
struct Ctx<'w, 'o> {
    writer: FilesystemWriter<'w, 'w, 'w>,
    mtime: u32,
    owners: Owners<'o>,
    read_failure: Rc<RefCell<Option<(PathBuf, std::io::Error)>>>,
    /// The regular files, in the order backhand writes their data.
    prefetch: Vec<PathBuf>,
    /// The owner and group ids of the inodes given to backhand, and 0, which its id table
    /// always holds.
    ids: BTreeSet<u32>,
    summary: SquashfsSummary,
}

impl Ctx<'_, '_> {
    /// Adds the children of the directory `dir` (at `image_dir` in the image), depth first in
    /// byte order of names. That order is also backhand's node order, so each insertion appends.
    fn add_dir(&mut self, dir: &Path, image_dir: &Path) -> Result<()> {
        let mut names = std::fs::read_dir(dir)
            .map_err(read_error(dir))?
            .map(|entry| entry.map(|entry| entry.file_name()))
            .collect::<std::io::Result<Vec<OsString>>>()
            .map_err(read_error(dir))?;
        names.sort_unstable();
        for name in names {
            let path = dir.join(&name);
            let image_path = image_dir.join(&name);
            let meta = std::fs::symlink_metadata(&path).map_err(read_error(&path))?;
            let file_type = meta.file_type();
            // The image path without its leading `/`: the table's key.
            let rel = image_path.strip_prefix("/").unwrap_or(&image_path);
            let (uid, gid, mode) = owner(&meta, rel, self.owners);
            self.ids.extend([uid, gid]);
            let header = NodeHeader::new(mode, uid, gid, self.mtime);
            let pushed = if file_type.is_dir() {
                self.summary.dirs += 1;
                self.writer.push_dir(&image_path, header)
            } else if file_type.is_file() {
                self.summary.files += 1;
                self.summary.file_bytes += meta.len();
                self.prefetch.push(path.clone());
                let reader = LazyReader {
                    path: path.clone(),
                    state: LazyState::Unopened,
                    failure: Rc::clone(&self.read_failure),
                };
                self.writer.push_file(reader, &image_path, header)
            } else if file_type.is_symlink() {
                self.summary.symlinks += 1;
                let target = std::fs::read_link(&path).map_err(read_error(&path))?;
                self.writer.push_symlink(target, &image_path, header)
            } else {
                return Err(ImageError::SquashfsUnsupportedFileType {
                    path,
                    kind: kind_name(&meta),
                });
            };
            pushed.map_err(|err| library_error(&path, err))?;
            if file_type.is_dir() {
                self.add_dir(&path, &image_path)?;
            }
        }
        Ok(())
    }
}

/// An inode's owner, group and permission bits in the image; `rel` is its path in the image,
/// without the leading `/`.
fn owner(meta: &Metadata, rel: &Path, owners: Owners) -> (u32, u32, u16) {
    match owners {
        Owners::Root => (0, 0, permissions(meta)),
        Owners::FromTree => (meta.uid(), meta.gid(), permissions(meta)),
        Owners::Table(table) => match table.get(rel) {
            Some(owner) => (
                owner.uid,
                owner.gid,
                owner
                    .mode
                    .map_or_else(|| permissions(meta), |mode| mode & 0o7777),
            ),
            None => (0, 0, permissions(meta)),
        },
    }
}

/// Mode bits for an inode: permissions plus setuid, setgid and sticky; the type is the inode's.
fn permissions(meta: &Metadata) -> u16 {
    // Masked to 12 bits, so the narrowing cannot lose anything.
    u16::try_from(meta.mode() & 0o7777).unwrap_or(0)
}

fn kind_name(meta: &Metadata) -> &'static str {
    let file_type = meta.file_type();
    if file_type.is_fifo() {
        "fifo"
    } else if file_type.is_socket() {
        "socket"
    } else if file_type.is_char_device() {
        "character device"
    } else if file_type.is_block_device() {
        "block device"
    } else {
        "special file"
    }
}

/// Writes the assembled image to `tmp` and returns its size.
fn write_to(
    writer: &mut FilesystemWriter<'_, '_, '_>,
    tmp: &Path,
    dest: &Path,
    read_failure: &RefCell<Option<(PathBuf, std::io::Error)>>,
) -> Result<u64> {
    let file = File::create(tmp).map_err(write_error(dest))?;
    let mut out = BufWriter::with_capacity(1 << 20, file);
    let res = writer.write(&mut out);
    // A source file that failed to read explains the error better than backhand's copy of it.
    if let Some((path, source)) = read_failure.borrow_mut().take() {
        return Err(ImageError::SquashfsReadSource { path, source });
    }
    let (_superblock, size) = res.map_err(|err| match err {
        BackhandError::StdIo(source) => ImageError::SquashfsWrite {
            path: dest.to_path_buf(),
            source,
        },
        other => library_error(dest, other),
    })?;
    let file = out
        .into_inner()
        .map_err(|err| write_error(dest)(err.into_error()))?;
    // backhand seeks back over a duplicate file's data; if the tables after it are shorter, old
    // bytes would remain past the image's end.
    file.set_len(size).map_err(write_error(dest))?;
    // No fsync: like xorriso, mksquashfs and Nix's builds, the bytes reach the disk when the
    // kernel writes them back (a crash before that is what `kiln store verify` finds); a full
    // disk fails the write itself.
    Ok(size)
}

/// A source file that is opened at its first read, when backhand writes its data, and closed at
/// its end, so at most one source file is open at a time (backhand keeps every reader until the
/// image is done). A failure is recorded with its path for [`write_to`].
struct LazyReader {
    path: PathBuf,
    state: LazyState,
    failure: Rc<RefCell<Option<(PathBuf, std::io::Error)>>>,
}

enum LazyState {
    Unopened,
    Open(File),
    Done,
}

impl Read for LazyReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let res = match &mut self.state {
            LazyState::Open(file) => file.read(buf),
            LazyState::Unopened => File::open(&self.path).and_then(|mut file| {
                let res = file.read(buf);
                self.state = LazyState::Open(file);
                res
            }),
            LazyState::Done => Ok(0),
        };
        match res {
            Ok(0) => self.state = LazyState::Done,
            Ok(_) => {}
            Err(ref err) => {
                let mut failure = self.failure.borrow_mut();
                if failure.is_none() {
                    *failure = Some((
                        self.path.clone(),
                        std::io::Error::new(err.kind(), err.to_string()),
                    ));
                }
            }
        }
        res
    }
}

fn read_error(path: &Path) -> impl FnOnce(std::io::Error) -> ImageError {
    let path = path.to_path_buf();
    move |source| ImageError::SquashfsReadSource { path, source }
}

fn write_error(dest: &Path) -> impl FnOnce(std::io::Error) -> ImageError {
    let path = dest.to_path_buf();
    move |source| ImageError::SquashfsWrite { path, source }
}

fn library_error(path: &Path, err: BackhandError) -> ImageError {
    ImageError::SquashfsLibrary {
        path: path.to_path_buf(),
        what: err.to_string(),
    }
}
