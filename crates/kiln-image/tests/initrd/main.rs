//! The initrd half of kiln-image through its public API: cpio write → read round trips (always),
//! GNU `cpio`/`zstd` as independent readers (under `KILN_SLOW_TESTS=1`), and module closures
//! over small ELF modules made here with `object`'s writer, so the tests need no compiler or
//! kernel.

use kiln_image::cpio::{
    self, read::read_newc, Compressor, CpioOptions, CpioPath, Entry, EntryKind, FileSource,
};
use kiln_image::initrd::{self, firmware::find_firmware};
use kiln_image::kmod::{self, ModuleTree};
use kiln_image::ImageError;
use miette::Diagnostic;
use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn p(path: &str) -> CpioPath {
    CpioPath::new(path).unwrap()
}

fn code(err: &ImageError) -> String {
    err.code().map(|c| c.to_string()).unwrap_or_default()
}

/// A small tree with every entry kind and data lengths around the padding boundaries.
fn sample_entries() -> Vec<Entry> {
    let mut entries = vec![
        Entry::dir(p("bin"), 0o755),
        Entry::bytes(p("bin/busybox"), 0o755, b"\x7fELF fake busybox".to_vec()),
        Entry::symlink(p("bin/sh"), "busybox"),
        Entry::bytes(p("init"), 0o755, b"#!/bin/sh\necho hello\n".to_vec()),
        Entry::char_device(p("dev/console"), 0o600, 5, 1),
        Entry::bytes(p("etc/empty"), 0o644, Vec::new()),
    ];
    for len in 0..9 {
        entries.push(Entry::bytes(
            p(&format!("data/len-{len}")),
            0o644,
            vec![b'a' + len; usize::from(len)],
        ));
    }
    entries
}

#[test]
fn newc_round_trip_sample() {
    let mut out = Vec::new();
    let stats = cpio::write_newc(
        &mut out,
        sample_entries(),
        &CpioOptions {
            mtime: 1_700_000_000,
        },
    )
    .unwrap();
    assert_eq!(u64::try_from(out.len()).unwrap(), stats.archive_len);
    let back = read_newc(&out).unwrap();
    let names: Vec<&str> = back.iter().map(|e| e.path.as_str()).collect();
    let mut sorted = names.clone();
    sorted.sort_unstable();
    assert_eq!(names, sorted);
    assert!(
        names.contains(&"dev"),
        "missing parent directory added: {names:?}"
    );
    for (idx, entry) in back.iter().enumerate() {
        assert_eq!(entry.ino, u32::try_from(idx + 1).unwrap());
        assert_eq!((entry.uid, entry.gid, entry.mtime), (0, 0, 1_700_000_000));
    }
    let console = back.iter().find(|e| e.path == "dev/console").unwrap();
    assert_eq!(
        (console.mode, console.rdevmajor, console.rdevminor),
        (cpio::S_IFCHR | 0o600, 5, 1)
    );
    let sh = back.iter().find(|e| e.path == "bin/sh").unwrap();
    assert_eq!(
        (sh.mode & cpio::S_IFMT, sh.data.as_slice()),
        (cpio::S_IFLNK, &b"busybox"[..])
    );
}

#[test]
fn newc_is_deterministic() {
    let write = || {
        let mut out = Vec::new();
        let mut entries = sample_entries();
        entries.reverse();
        cpio::write_newc(&mut out, entries, &CpioOptions::default()).unwrap();
        out
    };
    let mut forward = Vec::new();
    cpio::write_newc(&mut forward, sample_entries(), &CpioOptions::default()).unwrap();
    assert_eq!(write(), forward);
}

#[test]
fn initrd_every_compressor_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    for compressor in [
        Compressor::Zstd { level: 3 },
        Compressor::Xz { level: 6 },
        Compressor::Gzip { level: 6 },
        Compressor::None,
    ] {
        let dest = dir.path().join("initrd");
        cpio::write_initrd(&dest, sample_entries(), &CpioOptions::default(), compressor).unwrap();
        let bytes = std::fs::read(&dest).unwrap();
        let back = read_newc(&cpio::read::decompress(&bytes).unwrap()).unwrap();
        assert!(
            back.iter()
                .any(|e| e.path == "init" && e.data.starts_with(b"#!/bin/sh")),
            "{compressor:?}"
        );
    }
    // Only the destination is left behind, no temporary files.
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["initrd"]);
}

#[test]
fn initrd_zstd_bytes_do_not_depend_on_thread_count() {
    // Enough data for several zstd jobs, compressible but not trivially.
    let mut data = Vec::with_capacity(24 << 20);
    let mut state = 0x2545_f491_u32;
    while data.len() < 24 << 20 {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        data.extend_from_slice(format!("line {} {}\n", state % 1000, data.len() / 4096).as_bytes());
    }
    let dir = tempfile::tempdir().unwrap();
    let mut digests = Vec::new();
    for threads in [1, 2, 4] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        let dest = dir.path().join(format!("initrd-{threads}"));
        let entries = vec![Entry::bytes(p("big"), 0o644, data.clone())];
        pool.install(|| {
            cpio::write_initrd(
                &dest,
                entries,
                &CpioOptions::default(),
                Compressor::default(),
            )
        })
        .unwrap();
        digests.push(std::fs::read(&dest).unwrap());
    }
    assert!(digests.windows(2).all(|w| w[0] == w[1]));
}

#[test]
fn initrd_failure_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("initrd");
    let entries = vec![Entry::file(
        p("missing"),
        0o644,
        dir.path().join("does-not-exist"),
    )];
    let err = cpio::write_initrd(
        &dest,
        entries,
        &CpioOptions::default(),
        Compressor::default(),
    )
    .unwrap_err();
    assert_eq!(code(&err), "kiln::image::io");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn newc_rejects_duplicates_and_bad_paths() {
    let entries = vec![Entry::dir(p("a"), 0o755), Entry::dir(p("a"), 0o700)];
    let err = cpio::write_newc(Vec::new(), entries, &CpioOptions::default()).unwrap_err();
    assert_eq!(code(&err), "kiln::image::duplicate_cpio_path");
    let err = CpioPath::new("../etc").unwrap_err();
    assert_eq!(code(&err), "kiln::image::invalid_cpio_path");
}

#[test]
fn compressor_from_config() {
    let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert_eq!(
        Compressor::from_config("zstd", &[]).unwrap(),
        Compressor::Zstd { level: 3 }
    );
    assert_eq!(
        Compressor::from_config("/nix/store/x-zstd/bin/zstd", &args(&["-19", "-T0"])).unwrap(),
        Compressor::Zstd { level: 19 }
    );
    assert_eq!(
        Compressor::from_config("xz", &args(&["--check=crc32", "-9"])).unwrap(),
        Compressor::Xz { level: 9 }
    );
    assert_eq!(
        Compressor::from_config("gzip", &[]).unwrap(),
        Compressor::Gzip { level: 9 }
    );
    assert_eq!(
        Compressor::from_config("cat", &[]).unwrap(),
        Compressor::None
    );
    for (command, a) in [("lz4", &[][..]), ("zstd", &["-30"][..])] {
        let err = Compressor::from_config(command, &args(a)).unwrap_err();
        assert_eq!(code(&err), "kiln::image::unsupported_compressor");
    }
}

#[test]
fn source_date_epoch_parsing() {
    assert_eq!(CpioOptions::from_source_date_epoch(None).unwrap().mtime, 0);
    assert_eq!(
        CpioOptions::from_source_date_epoch(Some("")).unwrap().mtime,
        0
    );
    assert_eq!(
        CpioOptions::from_source_date_epoch(Some("1700000000"))
            .unwrap()
            .mtime,
        1_700_000_000
    );
    for bad in ["-1", "soon", "4294967296"] {
        let err = CpioOptions::from_source_date_epoch(Some(bad)).unwrap_err();
        assert_eq!(code(&err), "kiln::image::bad_source_date_epoch");
    }
}

#[test]
fn newc_file_over_4_gib_is_a_clear_error() {
    // A sparse file: 5 GiB long, no disk used, and the writer must refuse it before reading.
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big");
    std::fs::File::create(&big)
        .unwrap()
        .set_len(5 << 30)
        .unwrap();
    let dest = dir.path().join("initrd");
    let entries = vec![Entry::file(p("big"), 0o644, &big)];
    let err = cpio::write_initrd(
        &dest,
        entries,
        &CpioOptions::default(),
        Compressor::default(),
    )
    .unwrap_err();
    assert_eq!(code(&err), "kiln::image::field_overflow");
    assert!(
        err.to_string().contains("file size of `big` is 5368709120"),
        "{err}"
    );
    assert!(!dest.exists());
}

#[test]
fn entries_from_dir_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join("usr/lib")).unwrap();
    std::fs::write(root.join("usr/lib/libc.so"), b"libc").unwrap();
    std::os::unix::fs::symlink("usr/lib", root.join("lib")).unwrap();
    let entries = cpio::entries_from_dir(root).unwrap();
    let mut out = Vec::new();
    cpio::write_newc(&mut out, entries, &CpioOptions::default()).unwrap();
    let back = read_newc(&out).unwrap();
    let names: Vec<&str> = back.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(names, ["lib", "usr", "usr/lib", "usr/lib/libc.so"]);
    assert_eq!(back[3].data, b"libc");
}

fn arb_entries() -> impl Strategy<Value = Vec<Entry>> {
    let component = prop::sample::select(vec!["a", "b", "c-d", "e_f", "lib", "x.ko", "ü"]);
    let path = prop::collection::vec(component, 1..4).prop_map(|parts| parts.join("/"));
    let kind = prop_oneof![
        Just(EntryKind::Dir),
        prop::collection::vec(any::<u8>(), 0..70)
            .prop_map(|data| EntryKind::File(FileSource::Bytes(data.into()))),
        "[a-z/.]{1,20}".prop_map(EntryKind::Symlink),
        (any::<u32>(), any::<u32>())
            .prop_map(|(major, minor)| EntryKind::CharDevice { major, minor }),
    ];
    prop::collection::btree_map(path, (kind, 0u32..0o7777), 0..24).prop_map(|map| {
        // A path that is also a parent must be a directory, or the tree is not a tree.
        let dirs: std::collections::BTreeSet<String> = map
            .keys()
            .flat_map(|k| {
                k.match_indices('/')
                    .map(|(idx, _)| k[..idx].to_owned())
                    .collect::<Vec<_>>()
            })
            .collect();
        map.into_iter()
            .map(|(path, (kind, mode))| {
                let kind = if dirs.contains(&path) {
                    EntryKind::Dir
                } else {
                    kind
                };
                Entry {
                    path: CpioPath::new(path).unwrap(),
                    mode,
                    kind,
                }
            })
            .collect()
    })
}

proptest! {
    #[test]
    fn newc_write_read_same_entries(entries in arb_entries(), mtime in any::<u32>()) {
        let mut out = Vec::new();
        cpio::write_newc(&mut out, entries.clone(), &CpioOptions { mtime }).unwrap();
        prop_assert_eq!(out.len() % 4, 0);
        let back = read_newc(&out).unwrap();
        for entry in &entries {
            let read = back.iter().find(|r| r.path == entry.path.as_str()).unwrap();
            prop_assert_eq!(read.mode & 0o7777, entry.mode);
            prop_assert_eq!(read.mtime, mtime);
            match &entry.kind {
                EntryKind::Dir => prop_assert_eq!(read.mode & cpio::S_IFMT, cpio::S_IFDIR),
                EntryKind::File(FileSource::Bytes(data)) => {
                    prop_assert_eq!(read.mode & cpio::S_IFMT, cpio::S_IFREG);
                    prop_assert_eq!(&read.data[..], &data[..]);
                }
                EntryKind::Symlink(target) => prop_assert_eq!(&read.data[..], target.as_bytes()),
                EntryKind::CharDevice { major, minor } => {
                    prop_assert_eq!((read.rdevmajor, read.rdevminor), (*major, *minor));
                }
                other => prop_assert!(false, "unexpected kind {:?}", other),
            }
        }
        // Every parent of every entry is a directory that comes before it.
        for (idx, read) in back.iter().enumerate() {
            if let Some((parent, _)) = read.path.rsplit_once('/') {
                let parent_idx = back.iter().position(|r| r.path == parent).unwrap();
                prop_assert!(parent_idx < idx);
                prop_assert_eq!(back[parent_idx].mode & cpio::S_IFMT, cpio::S_IFDIR);
            }
        }
    }
}

// ---- GNU cpio and zstd as independent readers (KILN_SLOW_TESTS=1) ----

/// Whether the slow oracle tests run (`kiln_testkit::slow`).
fn have_tools(test: &str, tools: &[&str]) -> bool {
    kiln_testkit::slow(test, tools)
}

fn pipe(cmd: &mut Command, input: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let output = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    assert!(
        output.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

#[test]
fn gnu_cpio_lists_and_extracts_zstd_initrd() {
    if !have_tools("gnu_cpio_lists_and_extracts_zstd_initrd", &["cpio", "zstd"]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let initrd = dir.path().join("initrd.zst");
    let entries: Vec<Entry> = sample_entries()
        .into_iter()
        .filter(|e| e.path.as_str() != "dev/console")
        .collect();
    cpio::write_initrd(
        &initrd,
        entries.clone(),
        &CpioOptions {
            mtime: 1_600_000_000,
        },
        Compressor::default(),
    )
    .unwrap();
    let archive = pipe(
        Command::new("zstd").args(["-d", "-c"]),
        &std::fs::read(&initrd).unwrap(),
    );
    let listing =
        String::from_utf8(pipe(Command::new("cpio").args(["-t", "--quiet"]), &archive)).unwrap();
    let ours: Vec<String> = read_newc(&archive)
        .unwrap()
        .into_iter()
        .map(|e| e.path)
        .collect();
    assert_eq!(listing.lines().collect::<Vec<_>>(), ours);

    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    pipe(
        Command::new("cpio")
            .args(["-idm", "--quiet", "--no-absolute-filenames"])
            .current_dir(&out),
        &archive,
    );
    for entry in &entries {
        let path = out.join(entry.path.as_str());
        match &entry.kind {
            EntryKind::File(FileSource::Bytes(data)) => {
                assert_eq!(std::fs::read(&path).unwrap(), &data[..], "{}", entry.path);
                let meta = std::fs::metadata(&path).unwrap();
                assert_eq!(
                    std::os::unix::fs::PermissionsExt::mode(&meta.permissions()) & 0o777,
                    entry.mode
                );
                assert_eq!(std::os::unix::fs::MetadataExt::mtime(&meta), 1_600_000_000);
            }
            EntryKind::Symlink(target) => {
                assert_eq!(std::fs::read_link(&path).unwrap(), Path::new(target))
            }
            EntryKind::Dir => assert!(path.is_dir()),
            _ => {}
        }
    }
}

#[test]
fn gnu_cpio_verbose_listing_shows_devices_and_owners() {
    if !have_tools(
        "gnu_cpio_verbose_listing_shows_devices_and_owners",
        &["cpio"],
    ) {
        return;
    }
    let mut archive = Vec::new();
    cpio::write_newc(&mut archive, sample_entries(), &CpioOptions::default()).unwrap();
    let listing = String::from_utf8(pipe(
        Command::new("cpio").args(["-tv", "--quiet", "--numeric-uid-gid"]),
        &archive,
    ))
    .unwrap();
    let console = listing
        .lines()
        .find(|l| l.ends_with("dev/console"))
        .unwrap();
    let fields: Vec<&str> = console.split_whitespace().collect();
    // `crw-------   1 0        0          5,   1 Jan  1  1970 dev/console`
    assert_eq!(
        &fields[..6],
        ["crw-------", "1", "0", "0", "5,", "1"],
        "{console}"
    );
    assert!(
        listing
            .lines()
            .all(|l| l.split_whitespace().nth(2) == Some("0")),
        "{listing}"
    );
}

#[test]
fn in_tree_reader_reads_gnu_cpio_archive() {
    if !have_tools("in_tree_reader_reads_gnu_cpio_archive", &["cpio"]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("a/b")).unwrap();
    std::fs::write(dir.path().join("a/b/c"), b"12345").unwrap();
    let archive = pipe(
        Command::new("cpio")
            .args(["-o", "-H", "newc", "--quiet"])
            .current_dir(dir.path()),
        b"a\na/b\na/b/c\n",
    );
    let back = read_newc(&archive).unwrap();
    let names: Vec<&str> = back.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(names, ["a", "a/b", "a/b/c"]);
    assert_eq!(back[2].data, b"12345");
}

mod modules;
