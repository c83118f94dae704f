//! Owners without root: a program run under Debian's `fakeroot` (an `LD_PRELOAD` library and
//! its daemon, `faked`) believes it is root and that its `chown`s, `chmod`s and `mknod`s
//! succeeded; faked remembers what each inode's owner and mode should be, by device and inode
//! number, and answers every `stat` from that memory. A user namespace alone is not enough for
//! dpkg: there the caller is root over its own files only, and `chown` to any other user fails.
//!
//! How `debian-root` uses it without root:
//!
//! 1. The merge ([`crate::tree::merge_packages`]) cannot give files to other users, so it
//!    records every file the package manifests give to someone other than root (`root:shadow`,
//!    `root:mail`, ...) or a mode the builder could not read through, as a [`Record`] of its
//!    inode. Those records are faked's database at the start ([`write_state`], faked's own
//!    save format), so dpkg and the maintainer scripts see the files owned as the packages say.
//! 2. The configure script runs under Debian's `fakeroot-sysv` front end in the sandbox's user
//!    namespace, with faked's database loaded from that file and saved to another when the
//!    script ends (`fakeroot -i SEED -s STATE`). The fakeroot programs come from a store tree
//!    bound read-only under `/tmp` ([`Session`]), so nothing of them reaches the image;
//!    `libfakeroot` is loaded into the root's own programs, and faked runs with the root's own
//!    C library, which the lock pins to the same version as fakeroot's closure.
//! 3. The saved database is read back ([`parse_state`]) and turned into owners by path
//!    ([`owner_table`]), which the squashfs writer gives the image's inodes
//!    ([`kiln_image::squashfs::Owners::Table`]). An inode faked does not know is root's, as
//!    under fakeroot.
//!
//! faked's save format (fakeroot 1.31, `faked.c` `save_database`/`load_database`; the format
//! string is in bookworm's `faked-sysv` too) is one line per inode:
//! `dev=%llx,ino=%llu,mode=%llo,uid=%llu,gid=%llu,nlink=%llu,rdev=%llu`: the device in hex, the
//! mode in octal with its file type bits, the rest in decimal.
//!
//! Limits, which fakeroot has for every user: a program that fakeroot does not see (statically
//! linked, such as `ldconfig`, or started with a cleared environment) changes real inodes only.
//! If such a program removes a file faked knows, faked keeps the record, and a new file that
//! the file system gives the same inode number would inherit it. A record whose file type is
//! not the inode's is such a leftover and is ignored (faked itself trusts the inode then); one
//! of the same type cannot be told apart. The test that builds the minimal profile both ways
//! compares every owner and mode (`crates/kiln-cli/tests/rootless.rs`).
//!
//! Rejected: a user namespace with a range of ids mapped (`newuidmap` and `/etc/subuid`): it
//! needs setuid helpers and an administrator's configuration, and leaves files on the host
//! owned by ids that mean nothing there. Installing fakeroot into the root and removing it
//! afterwards: dpkg's database and triggers would remember it.

use crate::error::{BuilderError, Result};
use crate::sandbox::Sandbox;
use kiln_image::squashfs::{Owner, OwnerTable};
use std::collections::HashMap;
use std::fmt::Write as _;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// Where the fakeroot tree is bound inside the sandbox.
const TREE_INSIDE: &str = "/tmp/kiln-fakeroot";
/// Where the directory with faked's database files is bound inside the sandbox.
const STATE_INSIDE: &str = "/tmp/kiln-fakeroot-state";
/// The front end, the daemon and the preloaded library, in the fakeroot tree (Debian's names;
/// the `fakeroot` and `faked` alternatives are made by the package's `postinst`, which a
/// package tree does not run).
const FRONT_END: &str = "usr/bin/fakeroot-sysv";
const DAEMON: &str = "usr/bin/faked-sysv";
const LIBRARY: &str = "usr/lib/x86_64-linux-gnu/libfakeroot/libfakeroot-sysv.so";
/// The file type bits of a mode.
const S_IFMT: u32 = 0o170_000;
const S_IFREG: u32 = 0o100_000;
/// What `mknod` makes: character and block devices, fifos and sockets.
const MKNOD_TYPES: [u32; 4] = [0o020_000, 0o060_000, 0o010_000, 0o140_000];

/// One inode in faked's database.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Record {
    pub(crate) dev: u64,
    pub(crate) ino: u64,
    /// The whole mode, file type bits included.
    pub(crate) mode: u32,
    pub(crate) uid: u32,
    pub(crate) gid: u32,
    pub(crate) nlink: u64,
    pub(crate) rdev: u64,
}

impl Record {
    /// The record for the inode at `path` (not following a symlink), with the owner and the
    /// permission bits it should have.
    pub(crate) fn of(path: &Path, uid: u32, gid: u32, permissions: u32) -> Result<Record> {
        let meta = std::fs::symlink_metadata(path).map_err(BuilderError::io("read", path))?;
        Ok(Record {
            dev: meta.dev(),
            ino: meta.ino(),
            mode: (meta.mode() & S_IFMT) | (permissions & 0o7777),
            uid,
            gid,
            nlink: meta.nlink(),
            rdev: meta.rdev(),
        })
    }
}

/// The real mode a file the builder owns needs so that it can still read, write and list it
/// (fakeroot's own rule for `chmod`: owner read and write, and search for directories); the
/// mode it should have is kept in a [`Record`].
pub(crate) fn workable_mode(mode: u32, is_dir: bool) -> u32 {
    if is_dir {
        mode | 0o700
    } else {
        mode | 0o600
    }
}

/// faked's database file, in its save format, one line per record in the order given.
pub(crate) fn write_state(records: &[Record]) -> String {
    let mut text = String::new();
    for r in records {
        let _ = writeln!(
            text,
            "dev={:x},ino={},mode={:o},uid={},gid={},nlink={},rdev={}",
            r.dev, r.ino, r.mode, r.uid, r.gid, r.nlink, r.rdev
        );
    }
    text
}

/// Reads faked's database file; `name` names it in errors.
pub(crate) fn parse_state(text: &str, name: &str) -> Result<Vec<Record>> {
    let mut records = Vec::new();
    for (index, line) in text.lines().enumerate() {
        if line.is_empty() {
            continue;
        }
        let bad = || {
            BuilderError::invalid(format!(
                "{name}:{}: `{line}` is not a fakeroot database line \
                 (`dev=HEX,ino=N,mode=OCTAL,uid=N,gid=N,nlink=N,rdev=N`)",
                index + 1
            ))
        };
        let mut fields = line.split(',');
        let mut next = |key: &str, radix: u32| -> Result<u64> {
            fields
                .next()
                .and_then(|field| field.strip_prefix(key))
                .and_then(|field| field.strip_prefix('='))
                .and_then(|value| u64::from_str_radix(value, radix).ok())
                .ok_or_else(bad)
        };
        let dev = next("dev", 16)?;
        let ino = next("ino", 10)?;
        let mode = next("mode", 8)?;
        let uid = next("uid", 10)?;
        let gid = next("gid", 10)?;
        let nlink = next("nlink", 10)?;
        let rdev = next("rdev", 10)?;
        if fields.next().is_some() {
            return Err(bad());
        }
        // faked keeps ids in 32 bits and a mode in `mode_t`; anything wider is not its file.
        let narrow = |n: u64| u32::try_from(n).map_err(|_| bad());
        records.push(Record {
            dev,
            ino,
            mode: narrow(mode)?,
            uid: narrow(uid)?,
            gid: narrow(gid)?,
            nlink,
            rdev,
        });
    }
    Ok(records)
}

/// What [`owner_table`] found besides the owners.
#[derive(Debug, Default)]
pub(crate) struct Applied {
    /// Records whose file type is not their inode's: left over from a file that a program
    /// fakeroot does not see removed (see the module comment); ignored.
    pub(crate) stale: usize,
}

/// The owners and modes the records give the inodes under `root`, by path relative to it. A
/// device node, fifo or socket that fakeroot pretended to make (a plain file on disk) is an
/// error, as the real one would be in a squashfs image.
pub(crate) fn owner_table(root: &Path, records: &[Record]) -> Result<(OwnerTable, Applied)> {
    let by_inode: HashMap<(u64, u64), &Record> =
        records.iter().map(|r| ((r.dev, r.ino), r)).collect();
    let mut table = OwnerTable::default();
    let mut applied = Applied::default();
    let mut stack = vec![PathBuf::new()];
    while let Some(rel) = stack.pop() {
        let path = root.join(&rel);
        let meta = std::fs::symlink_metadata(&path).map_err(BuilderError::io("read", &path))?;
        if meta.is_dir() {
            let entries = std::fs::read_dir(&path).map_err(BuilderError::io("list", &path))?;
            for entry in entries {
                let entry = entry.map_err(BuilderError::io("list", &path))?;
                stack.push(rel.join(entry.file_name()));
            }
        }
        let Some(record) = by_inode.get(&(meta.dev(), meta.ino())) else {
            continue;
        };
        let (faked_type, real_type) = (record.mode & S_IFMT, meta.mode() & S_IFMT);
        if faked_type != real_type {
            // libfakeroot's `mknod` makes a plain file and tells faked what it should be.
            if real_type == S_IFREG && MKNOD_TYPES.contains(&faked_type) {
                return Err(BuilderError::invalid(format!(
                    "`/{}` was made as a device node, fifo or socket (mode {:o}), which a \
                     squashfs live root cannot hold",
                    rel.display(),
                    record.mode
                )));
            }
            applied.stale += 1;
            continue;
        }
        table.insert(
            rel,
            Owner {
                uid: record.uid,
                gid: record.gid,
                // Masked to 12 bits, so the narrowing cannot fail.
                mode: Some(u16::try_from(record.mode & 0o7777).unwrap_or(0)),
            },
        );
    }
    Ok((table, applied))
}

/// A program run under fakeroot in a sandbox: the fakeroot tree (a `package-tree` of
/// `closureOf [ fakeroot ]`) and the directory that holds faked's database files.
pub(crate) struct Session {
    tree: PathBuf,
    state_dir: PathBuf,
}

impl Session {
    /// Checks that `tree` has Debian's fakeroot, and writes the database faked starts with into
    /// `state_dir` (made here).
    pub(crate) fn new(tree: &Path, state_dir: &Path, seed: &[Record]) -> Result<Session> {
        for rel in [FRONT_END, DAEMON, LIBRARY] {
            if !tree.join(rel).is_file() {
                return Err(BuilderError::invalid(format!(
                    "the fakeroot tree `{}` has no `{rel}`: give `closureOf [ pkgs.fakeroot ]`",
                    tree.display()
                )));
            }
        }
        std::fs::create_dir(state_dir).map_err(BuilderError::io("create", state_dir))?;
        let path = state_dir.join("seed");
        std::fs::write(&path, write_state(seed)).map_err(BuilderError::io("write", &path))?;
        Ok(Session {
            tree: tree.to_path_buf(),
            state_dir: state_dir.to_path_buf(),
        })
    }

    /// Binds what fakeroot needs into `sandbox`.
    pub(crate) fn bind(&self, sandbox: Sandbox) -> Sandbox {
        sandbox
            .ro_bind(&self.tree, TREE_INSIDE)
            .bind(&self.state_dir, STATE_INSIDE)
            // In a user namespace a real `chown` to an unmapped id fails with EINVAL, which
            // libfakeroot would pass on (it forgives EPERM only): only fake it.
            .env("FAKEROOTDONTTRYCHOWN", "1")
    }

    /// `argv` wrapped in the fakeroot front end, which starts faked with the seed, runs it with
    /// libfakeroot preloaded, and waits for faked to save its database when it ends.
    pub(crate) fn argv(&self, argv: &[&str]) -> Vec<String> {
        let inside = |rel: &str| format!("{TREE_INSIDE}/{rel}");
        let mut wrapped: Vec<String> = vec![
            "/bin/sh".into(),
            inside(FRONT_END),
            "-l".into(),
            inside(LIBRARY),
            "-f".into(),
            inside(DAEMON),
            "-i".into(),
            format!("{STATE_INSIDE}/seed"),
            "-s".into(),
            format!("{STATE_INSIDE}/state"),
            "--".into(),
        ];
        wrapped.extend(argv.iter().map(|a| (*a).to_string()));
        wrapped
    }

    /// The database faked saved when the program ended.
    pub(crate) fn saved(&self) -> Result<Vec<Record>> {
        let path = self.state_dir.join("state");
        let text = std::fs::read_to_string(&path).map_err(BuilderError::io("read", &path))?;
        parse_state(&text, &path.display().to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(ino: u64, mode: u32, uid: u32, gid: u32) -> Record {
        Record {
            dev: 0xfd01,
            ino,
            mode,
            uid,
            gid,
            nlink: 1,
            rdev: 0,
        }
    }

    #[test]
    fn the_database_reads_back_what_was_written() {
        let records = vec![
            record(1_234_567, 0o100_640, 0, 42),
            record(7, 0o042_775, 0, 8),
            Record {
                rdev: 0x0501,
                ..record(u64::MAX, 0o020_666, 0, 5)
            },
        ];
        let text = write_state(&records);
        assert_eq!(
            text.lines().next().unwrap(),
            "dev=fd01,ino=1234567,mode=100640,uid=0,gid=42,nlink=1,rdev=0"
        );
        assert_eq!(parse_state(&text, "state").unwrap(), records);
    }

    #[test]
    fn lines_faked_saved_parse() {
        // Saved by bookworm's fakeroot 1.31-1.2 (`fakeroot -s`) after `chgrp 42 x; chmod 640 x;
        // chmod 4755 y; mknod dev c 5 1`; the device is `stat -c %d`'s 65024.
        let text = "dev=fe00,ino=10010874,mode=100640,uid=0,gid=42,nlink=1,rdev=0\n\
                    dev=fe00,ino=10010876,mode=104755,uid=0,gid=0,nlink=1,rdev=0\n\
                    dev=fe00,ino=10010877,mode=20644,uid=0,gid=0,nlink=1,rdev=1281\n";
        let records = parse_state(text, "state").unwrap();
        let at = |ino, mode, gid| Record {
            dev: 65024,
            ..record(ino, mode, 0, gid)
        };
        assert_eq!(
            records,
            [
                at(10_010_874, 0o100_640, 42),
                at(10_010_876, 0o104_755, 0),
                Record {
                    rdev: 1281,
                    ..at(10_010_877, 0o020_644, 0)
                },
            ]
        );
        assert_eq!(write_state(&records), text);
    }

    #[test]
    fn a_bad_line_is_an_error_naming_it() {
        for bad in [
            "dev=803,ino=1,mode=100644,uid=0,gid=0,nlink=1",
            "dev=803,ino=1,mode=100648,uid=0,gid=0,nlink=1,rdev=0",
            "ino=1,dev=803,mode=100644,uid=0,gid=0,nlink=1,rdev=0",
            "dev=803,ino=1,mode=100644,uid=0,gid=0,nlink=1,rdev=0,x=1",
            "dev=803,ino=1,mode=100644,uid=4294967296,gid=0,nlink=1,rdev=0",
        ] {
            let text = format!("dev=1,ino=1,mode=100644,uid=0,gid=0,nlink=1,rdev=0\n{bad}\n");
            let err = parse_state(&text, "state").unwrap_err().to_string();
            assert!(err.starts_with("state:2: `"), "{bad}: {err}");
        }
    }

    #[test]
    fn records_become_owners_by_path_and_leftovers_are_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("etc")).unwrap();
        std::fs::write(root.join("etc/shadow"), "").unwrap();
        std::fs::write(root.join("etc/plain"), "").unwrap();
        std::fs::hard_link(root.join("etc/shadow"), root.join("etc/shadow-link")).unwrap();
        std::os::unix::fs::symlink("shadow", root.join("etc/link")).unwrap();
        let shadow = Record::of(&root.join("etc/shadow"), 0, 42, 0o640).unwrap();
        // A directory record for what is a file now: its inode was reused.
        let stale = Record {
            mode: 0o040_755,
            ..Record::of(&root.join("etc/plain"), 7, 7, 0o755).unwrap()
        };
        let link = Record::of(&root.join("etc/link"), 0, 5, 0o777).unwrap();
        let unrelated = record(1, 0o100_644, 3, 3);
        let (table, applied) = owner_table(root, &[shadow, stale, link, unrelated]).unwrap();
        let owner = |rel: &str| table.get(Path::new(rel)).copied();
        let shadow_owner = Some(Owner {
            uid: 0,
            gid: 42,
            mode: Some(0o640),
        });
        assert_eq!(owner("etc/shadow"), shadow_owner);
        assert_eq!(
            owner("etc/shadow-link"),
            shadow_owner,
            "hard links share it"
        );
        assert_eq!(owner("etc/link").map(|o| o.gid), Some(5));
        assert_eq!(owner("etc/plain"), None);
        assert_eq!(owner("etc"), None);
        assert_eq!(applied.stale, 1);
        assert_eq!(table.len(), 3);

        // A device node fakeroot pretended to make is refused, as a real one is.
        let device = Record {
            mode: 0o020_644,
            ..Record::of(&root.join("etc/plain"), 0, 0, 0o644).unwrap()
        };
        let err = owner_table(root, &[device]).unwrap_err().to_string();
        assert!(
            err.contains("`/etc/plain` was made as a device node"),
            "{err}"
        );
    }
}
