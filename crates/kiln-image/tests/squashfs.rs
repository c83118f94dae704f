//! Squashfs writer tests: a sample tree written with each compressor and read back by backhand's
//! reader, byte-identical output across runs and thread counts, bad input, and, under
//! `KILN_SLOW_TESTS=1` (or `CI`), the independent reader `unsquashfs` (Debian `squashfs-tools`).

mod common;
use common::{run, tool};
use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::io::{BufReader, Read};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use backhand::{FilesystemReader, InnerNode};
use kiln_image::squashfs::{write_squashfs, SquashfsCompression, SquashfsOptions};
use kiln_image::ImageError;
use miette::Diagnostic;

const TIMESTAMP: i64 = 1_700_000_000;

const ALL: [SquashfsCompression; 3] = [
    SquashfsCompression::Zstd,
    SquashfsCompression::Xz,
    SquashfsCompression::Gzip,
];

fn options(compression: SquashfsCompression) -> SquashfsOptions<'static> {
    SquashfsOptions {
        compression,
        timestamp: TIMESTAMP,
        owners: kiln_image::squashfs::Owners::Root,
    }
}

/// Deterministic bytes that no compressor can shrink (xorshift64).
fn incompressible(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect()
}

fn write_file(path: &Path, data: &[u8], mode: u32) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, data).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// A tree with what matters: nesting, an empty directory, files of 0 B, a few bytes, exactly one
/// block, several MB compressible and incompressible, executable, setuid and setgid files, a
/// sticky directory, relative, absolute and dangling symlinks, a hard link and a name that is
/// not UTF-8.
fn sample_tree(root: &Path) {
    std::fs::create_dir_all(root).unwrap();
    write_file(&root.join("etc/hostname"), b"kiln\n", 0o644);
    write_file(&root.join("etc/empty"), b"", 0o600);
    write_file(&root.join("etc/shadow"), b"root:*:1::::::\n", 0o640);
    let text: Vec<u8> = b"the quick brown fox jumps over the lazy dog\n"
        .iter()
        .copied()
        .cycle()
        .take(5 << 20)
        .collect();
    write_file(&root.join("usr/share/doc/big.txt"), &text, 0o644);
    write_file(
        &root.join("usr/lib/random.bin"),
        &incompressible((3 << 20) + 12_345, 7),
        0o644,
    );
    write_file(
        &root.join("usr/lib/one-block.bin"),
        &incompressible(128 << 10, 9),
        0o644,
    );
    let mut mixed = incompressible(300_000, 11);
    mixed.extend(vec![0u8; 512 << 10]);
    mixed.extend(&text[..200_000]);
    write_file(&root.join("usr/lib/mixed-with-zeros.bin"), &mixed, 0o644);
    write_file(&root.join("usr/bin/tool"), b"#!/bin/sh\necho hi\n", 0o755);
    write_file(&root.join("usr/bin/su"), b"\x7fELF not really", 0o4755);
    write_file(&root.join("usr/bin/wall"), b"\x7fELF either", 0o2755);
    std::fs::hard_link(root.join("usr/bin/tool"), root.join("usr/bin/tool-link")).unwrap();
    std::os::unix::fs::symlink("tool", root.join("usr/bin/sh")).unwrap();
    std::os::unix::fs::symlink(
        "/usr/lib/x86_64-linux-gnu/../lib64/./ld",
        root.join("lib64"),
    )
    .unwrap();
    std::os::unix::fs::symlink("../nowhere", root.join("etc/dangling")).unwrap();
    std::fs::create_dir_all(root.join("a/b/c/d/e")).unwrap();
    write_file(&root.join("a/b/c/d/e/deep.txt"), b"deep", 0o644);
    std::fs::create_dir(root.join("tmp")).unwrap();
    std::fs::set_permissions(root.join("tmp"), std::fs::Permissions::from_mode(0o1777)).unwrap();
    std::fs::create_dir(root.join("root")).unwrap();
    std::fs::set_permissions(root.join("root"), std::fs::Permissions::from_mode(0o700)).unwrap();
    write_file(
        &root.join(OsStr::from_bytes(b"caf\xe9.txt")),
        b"latin-1",
        0o644,
    );
    std::fs::set_permissions(root, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// One entry as every reader should see it; paths are relative to the root, `""` is the root.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Node {
    Dir { mode: u32 },
    File { mode: u32, data: Vec<u8> },
    Symlink { target: PathBuf },
}

type Tree = BTreeMap<PathBuf, Node>;

/// Reads a tree from disk (the input, or what `unsquashfs -d` extracted).
fn tree_on_disk(root: &Path) -> Tree {
    fn walk(root: &Path, dir: &Path, out: &mut Tree) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let rel = path.strip_prefix(root).unwrap().to_path_buf();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            let mode = meta.permissions().mode() & 0o7777;
            if meta.is_symlink() {
                let target = std::fs::read_link(&path).unwrap();
                out.insert(rel, Node::Symlink { target });
            } else if meta.is_dir() {
                out.insert(rel, Node::Dir { mode });
                walk(root, &path, out);
            } else {
                let data = std::fs::read(&path).unwrap();
                out.insert(rel, Node::File { mode, data });
            }
        }
    }
    let mut out = Tree::new();
    let mode = std::fs::metadata(root).unwrap().permissions().mode() & 0o7777;
    out.insert(PathBuf::new(), Node::Dir { mode });
    walk(root, root, &mut out);
    out
}

/// Reads an image with backhand's reader, checking owners and times on the way.
fn tree_in_image(image: &Path) -> Tree {
    let file = BufReader::new(std::fs::File::open(image).unwrap());
    let fs = FilesystemReader::from_reader(file).unwrap();
    let mut out = Tree::new();
    for node in fs.files() {
        let rel = node.fullpath.strip_prefix("/").unwrap().to_path_buf();
        assert_eq!(
            (node.header.uid, node.header.gid),
            (0, 0),
            "owner of {rel:?}"
        );
        if rel.as_os_str().is_empty() {
            // FIXME: backhand 0.25 has no setter for the root inode's time, so it stays 0.
            assert_eq!(node.header.mtime, 0);
        } else {
            assert_eq!(i64::from(node.header.mtime), TIMESTAMP, "mtime of {rel:?}");
        }
        let mode = u32::from(node.header.permissions);
        let read = match &node.inner {
            InnerNode::Dir(_) => Node::Dir { mode },
            InnerNode::File(file) => {
                let mut data = Vec::new();
                fs.file(file).reader().read_to_end(&mut data).unwrap();
                Node::File { mode, data }
            }
            InnerNode::Symlink(link) => {
                assert_eq!(mode, 0o777, "symlink mode of {rel:?}");
                Node::Symlink {
                    target: link.link.clone(),
                }
            }
            other => panic!("unexpected node {other:?} at {rel:?}"),
        };
        out.insert(rel, read);
    }
    out
}

/// Compares two trees entry by entry, so a failure names the path instead of dumping megabytes.
fn assert_same_tree(expected: &Tree, actual: &Tree) {
    let expected_paths: Vec<_> = expected.keys().collect();
    let actual_paths: Vec<_> = actual.keys().collect();
    assert_eq!(expected_paths, actual_paths);
    for (path, node) in expected {
        let other = &actual[path];
        match (node, other) {
            (
                Node::File { mode, data },
                Node::File {
                    mode: other_mode,
                    data: other_data,
                },
            ) => {
                assert_eq!(mode, other_mode, "mode of {path:?}");
                assert!(data == other_data, "contents of {path:?} differ");
            }
            _ => assert_eq!(node, other, "{path:?}"),
        }
    }
}

#[test]
fn round_trips_through_backhand_reader_with_each_compression() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    sample_tree(&root);
    let expected = tree_on_disk(&root);
    for compression in ALL {
        let image = dir.path().join(format!("{}.sqfs", compression.name()));
        let summary = write_squashfs(&root, &image, &options(compression)).unwrap();
        assert_eq!(summary.size, std::fs::metadata(&image).unwrap().len());
        assert_eq!(
            (summary.dirs, summary.files, summary.symlinks),
            (14, 13, 3),
            "{compression:?}"
        );
        // The compressible text shrinks the image well below the input.
        assert!(summary.size < summary.file_bytes / 2, "{summary:?}");
        assert_same_tree(&expected, &tree_in_image(&image));
    }
}

#[test]
fn same_tree_gives_same_bytes_whatever_the_thread_count() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    sample_tree(&root);
    for compression in ALL {
        let mut images = Vec::new();
        for threads in [1, 4, 4] {
            let image = dir
                .path()
                .join(format!("{}-{threads}.sqfs", compression.name()));
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            pool.install(|| write_squashfs(&root, &image, &options(compression)))
                .unwrap();
            images.push(std::fs::read(&image).unwrap());
        }
        assert!(images[0] == images[1], "{compression:?}: 1 vs 4 threads");
        assert!(images[1] == images[2], "{compression:?}: two runs");
    }
}

#[test]
fn other_timestamps_and_compressions_give_other_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    std::fs::create_dir(&root).unwrap();
    write_file(&root.join("f"), b"x", 0o644);
    let write = |name: &str, options: &SquashfsOptions| {
        let image = dir.path().join(name);
        write_squashfs(&root, &image, options).unwrap();
        std::fs::read(image).unwrap()
    };
    let base = write("a", &options(SquashfsCompression::Zstd));
    let later = SquashfsOptions {
        timestamp: TIMESTAMP + 1,
        ..options(SquashfsCompression::Zstd)
    };
    assert_ne!(base, write("b", &later));
    assert_ne!(base, write("c", &options(SquashfsCompression::Gzip)));
}

#[test]
fn output_replaces_an_existing_file() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    std::fs::create_dir(&root).unwrap();
    write_file(&root.join("f"), b"x", 0o644);
    let image = dir.path().join("out.sqfs");
    std::fs::write(&image, b"old contents").unwrap();
    write_squashfs(&root, &image, &options(SquashfsCompression::Zstd)).unwrap();
    assert_eq!(tree_in_image(&image).len(), 2);
}

fn code(err: &ImageError) -> String {
    err.code().map(|code| code.to_string()).unwrap_or_default()
}

/// The names in a directory, to check that a failed write left nothing behind.
fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn fifo_is_rejected_with_its_path_and_nothing_is_left() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    sample_tree(&root);
    let fifo = root.join("usr/lib/pipe");
    let status = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(status.success());
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    std::fs::write(out.join("keep.sqfs"), b"previous image").unwrap();
    let err = write_squashfs(
        &root,
        &out.join("keep.sqfs"),
        &options(SquashfsCompression::Zstd),
    )
    .unwrap_err();
    assert_eq!(code(&err), "kiln::image::squashfs_unsupported_file_type");
    let ImageError::SquashfsUnsupportedFileType { path, kind } = &err else {
        panic!("{err:?}");
    };
    assert_eq!((path, *kind), (&fifo, "fifo"));
    assert!(err.to_string().contains("usr/lib/pipe"), "{err}");
    assert!(err.help().is_some());
    assert_eq!(listing(&out), ["keep.sqfs"]);
    assert_eq!(
        std::fs::read(out.join("keep.sqfs")).unwrap(),
        b"previous image"
    );
}

#[test]
fn bad_input_gives_errors_not_panics() {
    let dir = tempfile::tempdir().unwrap();
    let image = dir.path().join("out.sqfs");
    let zstd = options(SquashfsCompression::Zstd);

    let err = write_squashfs(&dir.path().join("missing"), &image, &zstd).unwrap_err();
    assert_eq!(code(&err), "kiln::image::squashfs_read_source");

    let file = dir.path().join("file");
    std::fs::write(&file, b"x").unwrap();
    let err = write_squashfs(&file, &image, &zstd).unwrap_err();
    assert_eq!(code(&err), "kiln::image::squashfs_root_not_dir");

    let root = dir.path().join("root");
    std::fs::create_dir(&root).unwrap();
    for timestamp in [-1, i64::from(u32::MAX) + 1] {
        let bad = SquashfsOptions {
            timestamp,
            ..zstd.clone()
        };
        let err = write_squashfs(&root, &image, &bad).unwrap_err();
        assert_eq!(code(&err), "kiln::image::squashfs_timestamp_range");
    }

    let err = write_squashfs(&root, &dir.path().join("no/such/dir/out.sqfs"), &zstd).unwrap_err();
    assert_eq!(code(&err), "kiln::image::squashfs_write");
    assert_eq!(listing(dir.path()), ["file", "root"]);
}

#[test]
fn compression_names_parse_and_others_are_rejected() {
    for compression in ALL {
        assert_eq!(
            SquashfsCompression::from_config(compression.name()).unwrap(),
            compression
        );
    }
    for name in ["lz4", "ZSTD", "", "lzo"] {
        let err = SquashfsCompression::from_config(name).unwrap_err();
        assert_eq!(code(&err), "kiln::image::squashfs_unsupported_compression");
        assert!(err.to_string().contains(&format!("`{name}`")), "{err}");
    }
}

#[test]
fn empty_root_gives_a_valid_image() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    std::fs::create_dir(&root).unwrap();
    let image = dir.path().join("out.sqfs");
    let summary = write_squashfs(&root, &image, &options(SquashfsCompression::Xz)).unwrap();
    assert_eq!((summary.dirs, summary.files), (1, 0));
    assert_same_tree(&tree_on_disk(&root), &tree_in_image(&image));
}

// ---- independent reader: unsquashfs (KILN_SLOW_TESTS=1 or CI) ----

#[test]
fn unsquashfs_extracts_the_same_tree_with_each_compression() {
    if tool("unsquashfs").is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    sample_tree(&root);
    let mut expected = tree_on_disk(&root);
    if !kiln_testkit::is_root() {
        // Without root, unsquashfs leaves setuid and setgid off what it extracts (they would be
        // the extracting user's); the listing shows them (`unsquashfs_lists_root_owners_…`).
        for node in expected.values_mut() {
            if let Node::File { mode, .. } = node {
                *mode &= !0o6000;
            }
        }
    }
    for compression in ALL {
        let image = dir.path().join(format!("{}.sqfs", compression.name()));
        write_squashfs(&root, &image, &options(compression)).unwrap();
        let out = dir.path().join(format!("out-{}", compression.name()));
        let mut cmd = tool("unsquashfs").unwrap();
        cmd.arg("-no-progress").arg("-d").arg(&out).arg(&image);
        run(cmd);
        assert_same_tree(&expected, &tree_on_disk(&out));
    }
}

#[test]
fn unsquashfs_lists_root_owners_times_and_modes() {
    if tool("unsquashfs").is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    sample_tree(&root);
    let image = dir.path().join("zstd.sqfs");
    write_squashfs(&root, &image, &options(SquashfsCompression::Zstd)).unwrap();

    let mut cmd = tool("unsquashfs").unwrap();
    cmd.env("TZ", "UTC").arg("-lln").arg(&image);
    let listing = run(cmd);
    // Lines: mode uid/gid size date time path [-> target]
    let mut by_path = BTreeMap::new();
    for line in listing.lines().filter(|line| !line.is_empty()) {
        let fields: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(fields[1], "0/0", "{line}");
        let when = format!("{} {}", fields[3], fields[4]);
        let path = fields[5].strip_prefix("squashfs-root").unwrap();
        if path.is_empty() {
            // FIXME: backhand 0.25 leaves the root inode's time at 0 (see the module docs).
            assert_eq!(when, "1970-01-01 00:00", "{line}");
        } else {
            assert_eq!(when, "2023-11-14 22:13", "{line}");
        }
        by_path.insert(path.to_owned(), line.to_owned());
    }
    assert_eq!(by_path.len(), 30);
    assert!(by_path["/usr/bin/su"].starts_with("-rwsr-xr-x "));
    assert!(by_path["/usr/bin/wall"].starts_with("-rwxr-sr-x "));
    assert!(by_path["/tmp"].starts_with("drwxrwxrwt "));
    assert!(by_path["/root"].starts_with("drwx------ "));
    assert!(by_path["/lib64"].ends_with("/lib64 -> /usr/lib/x86_64-linux-gnu/../lib64/./ld"));
    assert!(by_path["/usr/share/doc/big.txt"].contains(&format!(" {} ", 5 << 20)));

    let mut cmd = tool("unsquashfs").unwrap();
    cmd.arg("-s").arg(&image);
    let superblock = run(cmd);
    assert!(superblock.contains("Compression zstd"), "{superblock}");
    assert!(superblock.contains("Block size 131072"), "{superblock}");
}

#[test]
fn an_owner_table_gives_owners_and_modes_by_path() {
    use kiln_image::squashfs::{Owner, OwnerTable, Owners};
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    write_file(&root.join("etc/shadow"), b"root:*:1::::::\n", 0o640);
    write_file(&root.join("usr/bin/sudo"), b"sudo", 0o755);
    write_file(&root.join("usr/bin/plain"), b"plain", 0o755);
    std::os::unix::fs::symlink("sudo", root.join("usr/bin/sudoedit")).unwrap();
    std::fs::set_permissions(root.join("etc"), std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut table = OwnerTable::default();
    table.insert(
        "",
        Owner {
            uid: 0,
            gid: 0,
            mode: Some(0o750),
        },
    );
    table.insert(
        "etc/shadow",
        Owner {
            uid: 0,
            gid: 42,
            mode: None,
        },
    );
    // fakeroot recorded setuid the inode does not carry.
    table.insert(
        "usr/bin/sudo",
        Owner {
            uid: 0,
            gid: 0,
            mode: Some(0o104755),
        },
    );
    table.insert(
        "usr/bin/sudoedit",
        Owner {
            uid: 5,
            gid: 6,
            mode: None,
        },
    );
    // A path the tree lacks is ignored.
    table.insert(
        "nowhere",
        Owner {
            uid: 9,
            gid: 9,
            mode: None,
        },
    );
    let image = dir.path().join("table.sqfs");
    let with_table = SquashfsOptions {
        owners: Owners::Table(&table),
        ..options(SquashfsCompression::Zstd)
    };
    write_squashfs(&root, &image, &with_table).unwrap();
    let file = BufReader::new(std::fs::File::open(&image).unwrap());
    let fs = FilesystemReader::from_reader(file).unwrap();
    let got: BTreeMap<String, (u32, u32, u16)> = fs
        .files()
        .map(|node| {
            let h = &node.header;
            (
                node.fullpath.display().to_string(),
                (h.uid, h.gid, h.permissions),
            )
        })
        .collect();
    assert_eq!(got["/"], (0, 0, 0o750));
    assert_eq!(got["/etc"], (0, 0, 0o755), "not in the table: root's");
    assert_eq!(got["/etc/shadow"], (0, 42, 0o640));
    assert_eq!(got["/usr/bin/sudo"], (0, 0, 0o4755));
    assert_eq!(got["/usr/bin/plain"], (0, 0, 0o755));
    assert_eq!(got["/usr/bin/sudoedit"].0, 5);
    assert_eq!(got.len(), 8);

    // backhand records the ids of the inodes it is given; the root's alone it cannot write.
    table.insert(
        "",
        Owner {
            uid: 0,
            gid: 7,
            mode: None,
        },
    );
    let with_table = SquashfsOptions {
        owners: Owners::Table(&table),
        ..options(SquashfsCompression::Zstd)
    };
    let err = write_squashfs(&root, &image, &with_table).unwrap_err();
    assert!(
        matches!(err, ImageError::SquashfsRootOwner { uid: 0, gid: 7 }),
        "{err:?}"
    );
    table.insert(
        "usr/bin/plain",
        Owner {
            uid: 0,
            gid: 7,
            mode: None,
        },
    );
    let with_table = SquashfsOptions {
        owners: Owners::Table(&table),
        ..options(SquashfsCompression::Zstd)
    };
    write_squashfs(&root, &image, &with_table).unwrap();
}

#[test]
fn duplicate_files_are_stored_once_and_leave_no_tail() {
    // backhand writes a duplicate's data, then seeks back over it; when the duplicate is the last
    // file, the tables after it are shorter than the data, so the image must be truncated.
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    let data = incompressible(1 << 20, 3);
    write_file(&root.join("zz-first"), &data, 0o644);
    write_file(&root.join("zz-second"), &data, 0o644);
    let image = dir.path().join("out.sqfs");
    let summary = write_squashfs(&root, &image, &options(SquashfsCompression::Zstd)).unwrap();
    assert_eq!(std::fs::metadata(&image).unwrap().len(), summary.size);
    assert!(summary.size < (3 << 20) / 2, "{summary:?}");
    assert_same_tree(&tree_on_disk(&root), &tree_in_image(&image));
}
