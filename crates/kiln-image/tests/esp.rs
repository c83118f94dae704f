//! ESP writer tests: read back with the `fatfs` crate (always) and with `fsck.vfat` and mtools
//! (under `KILN_SLOW_TESTS=1`), determinism, scaling to kernel-sized files, and bad input.

mod common;
use common::{run_bytes as run, tool};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use kiln_image::esp::{write_esp, write_esp_to_vec, EspSpec, EspSummary, FatKind};
use kiln_image::iso::FileSource;
use kiln_image::ImageError;
use miette::Diagnostic;

const TIMESTAMP: i64 = 1_700_000_000; // 2023-11-14T22:13:20Z

fn bytes(data: &[u8]) -> FileSource {
    FileSource::Bytes(Arc::from(data))
}

/// Deterministic filler that is not all zeros, so misplaced clusters show.
fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i % 251) as u8 ^ seed.wrapping_mul(31))
        .collect()
}

const ENTRY: &[u8] = b"title kiln\nlinux /kiln/vmlinuz\ninitrd /kiln/initrd.img\n";

/// What matters on an ESP: the removable-media loader path, a systemd-boot tree with long and
/// lowercase names, an empty file, a multi-MB file streamed from disk, nesting, and a long
/// non-ASCII name that needs several long-name entries.
fn sample_spec(dir: &Path) -> (EspSpec, BTreeMap<String, Vec<u8>>) {
    let kernel = dir.join("vmlinuz");
    std::fs::write(&kernel, pattern(3 << 20, 1)).unwrap();
    let mut want = BTreeMap::new();
    let mut spec = EspSpec::new("KILN ESP", TIMESTAMP);
    let mut add = |path: &str, data: Vec<u8>, from_disk: Option<&Path>| {
        let source = match from_disk {
            Some(on_disk) => FileSource::Path(on_disk.to_path_buf()),
            None => bytes(&data),
        };
        spec.add_file(path, source);
        want.insert(path.to_owned(), data);
    };
    // Out of order on purpose: the writer sorts.
    add("loader/entries/kiln.conf", ENTRY.to_vec(), None);
    add("EFI/BOOT/BOOTX64.EFI", pattern(70_000, 2), None);
    add("EFI/systemd/systemd-bootx64.efi", pattern(70_000, 3), None);
    add("loader/loader.conf", b"timeout 3\n".to_vec(), None);
    add("kiln/vmlinuz", pattern(3 << 20, 1), Some(&kernel));
    add("kiln/empty", Vec::new(), None);
    add(".disk/info", b"kiln live\n".to_vec(), None);
    add(
        "kiln/a rather long file name, ünïcödé and all (copy 2).txt",
        b"long\n".to_vec(),
        None,
    );
    (spec, want)
}

/// Every regular file on the volume, read with the `fatfs` crate, with its FAT type and label.
/// Every entry must carry `date` and `time` as its modification time (FAT keeps even seconds).
fn read_back(
    image: &[u8],
    date: (u16, u16, u16),
    time: (u16, u16, u16),
) -> (BTreeMap<String, Vec<u8>>, fatfs::FatType, String) {
    use std::io::Read;
    let fs = fatfs::FileSystem::new(
        std::io::Cursor::new(image.to_vec()),
        fatfs::FsOptions::new(),
    )
    .unwrap();
    let mut out = BTreeMap::new();
    let mut todo = vec![(fs.root_dir(), String::new())];
    while let Some((dir, prefix)) = todo.pop() {
        for entry in dir.iter() {
            let entry = entry.unwrap();
            let name = entry.file_name();
            if name == "." || name == ".." {
                continue;
            }
            let path = format!("{prefix}{name}");
            let modified = entry.modified();
            let d = modified.date;
            let t = modified.time;
            assert_eq!((d.year, d.month, d.day), date, "{path}");
            assert_eq!((t.hour, t.min, t.sec), time, "{path}");
            if entry.is_dir() {
                todo.push((entry.to_dir(), format!("{path}/")));
            } else {
                let mut data = Vec::new();
                entry.to_file().read_to_end(&mut data).unwrap();
                out.insert(path, data);
            }
        }
    }
    let label = fs.volume_label();
    (out, fs.fat_type(), label)
}

/// [`TIMESTAMP`] as FAT records it.
const DATE: (u16, u16, u16) = (2023, 11, 14);
const TIME: (u16, u16, u16) = (22, 13, 20);
/// Timestamp 0 clamps to the FAT epoch.
const EPOCH: ((u16, u16, u16), (u16, u16, u16)) = ((1980, 1, 1), (0, 0, 0));

#[test]
fn fatfs_reads_back_the_tree() {
    let tmp = tempfile::tempdir().unwrap();
    let (spec, want) = sample_spec(tmp.path());
    let dest = tmp.path().join("efi.img");
    let summary = write_esp(&spec, &dest).unwrap();
    let image = std::fs::read(&dest).unwrap();
    assert_eq!(summary.size, image.len() as u64);
    assert_eq!(summary.size % 512, 0);
    assert_eq!((summary.files, summary.dirs), (8, 7));
    let (files, fat, label) = read_back(&image, DATE, TIME);
    assert_eq!(files, want);
    assert_eq!(fat, fatfs::FatType::Fat16);
    assert_eq!(summary.fat, FatKind::Fat16);
    assert_eq!(label, "KILN ESP");
    // Sized from the contents: about 3.2 MB of files, not a fixed 4 or 32 MiB.
    assert!(summary.size < 3_600_000, "{summary:?}");
    // The temporary file is gone.
    let names: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
}

#[test]
fn same_bytes_whatever_the_order_and_the_writer() {
    let tmp = tempfile::tempdir().unwrap();
    let (spec, _) = sample_spec(tmp.path());
    let first = tmp.path().join("a.img");
    write_esp(&spec, &first).unwrap();
    let mut reversed = spec.clone();
    reversed.files.reverse();
    let second = tmp.path().join("b.img");
    write_esp(&reversed, &second).unwrap();
    let first = std::fs::read(first).unwrap();
    assert!(first == std::fs::read(second).unwrap());
    assert!(first == write_esp_to_vec(&spec).unwrap());
    // A different list gives a different volume serial number (BS_VolID at 39 on FAT12/16).
    let mut other = spec.clone();
    other.add_file("extra", bytes(b"x"));
    let other = write_esp_to_vec(&other).unwrap();
    assert_ne!(first[39..43], other[39..43]);
}

#[test]
fn small_esp_is_fat12_and_empty_esp_works() {
    let mut spec = EspSpec::new("", 0);
    spec.add_file("EFI/BOOT/BOOTX64.EFI", bytes(&pattern(100_000, 9)));
    let image = write_esp_to_vec(&spec).unwrap();
    let (files, fat, label) = read_back(&image, EPOCH.0, EPOCH.1);
    assert_eq!(fat, fatfs::FatType::Fat12);
    assert_eq!(label, "NO NAME");
    assert_eq!(files["EFI/BOOT/BOOTX64.EFI"], pattern(100_000, 9));
    assert!(image.len() < 150_000, "{}", image.len());
    let empty = write_esp_to_vec(&EspSpec::new("EMPTY", 0)).unwrap();
    assert!(read_back(&empty, EPOCH.0, EPOCH.1).0.is_empty());
}

/// Kernel- and initrd-sized inputs: the volume scales (FAT16, 4 KiB clusters) and stays tight.
#[test]
fn kernel_sized_files_scale() {
    let tmp = tempfile::tempdir().unwrap();
    let initrd = tmp.path().join("initrd.img");
    std::fs::write(&initrd, pattern(120 << 20, 5)).unwrap();
    let mut spec = EspSpec::new("KILN", TIMESTAMP);
    spec.add_file("kiln/initrd.img", FileSource::Path(initrd.clone()));
    spec.add_file("kiln/vmlinuz", bytes(&pattern(12 << 20, 6)));
    let dest = tmp.path().join("big.img");
    let started = std::time::Instant::now();
    let summary = write_esp(&spec, &dest).unwrap();
    eprintln!(
        "132 MiB ESP written in {:?}: {summary:?}",
        started.elapsed()
    );
    assert_eq!(
        (summary.fat, summary.cluster_size),
        (FatKind::Fat16, 4096),
        "{summary:?}"
    );
    let contents = 132u64 << 20;
    assert!(summary.size > contents && summary.size < contents + contents / 50);
    let image = std::fs::read(&dest).unwrap();
    let (files, _, _) = read_back(&image, DATE, TIME);
    assert!(files["kiln/initrd.img"] == std::fs::read(&initrd).unwrap());
    assert!(files["kiln/vmlinuz"] == pattern(12 << 20, 6));
    if let Some(fsck) = tool("fsck.vfat") {
        fsck_clean(fsck, &dest);
    }
}

#[test]
fn file_of_4_gib_is_rejected_naming_it() {
    let tmp = tempfile::tempdir().unwrap();
    let sparse = tmp.path().join("sparse");
    // A sparse file: 4 GiB long, nothing allocated; the writer must refuse it from its size.
    std::fs::File::create(&sparse)
        .unwrap()
        .set_len(4u64 << 30)
        .unwrap();
    let mut spec = EspSpec::new("", 0);
    spec.add_file("EFI/BOOT/BOOTX64.EFI", bytes(b"loader"));
    spec.add_file("kiln/huge.img", FileSource::Path(sparse));
    let out = tmp.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let dest = out.join("efi.img");
    let err = write_esp(&spec, &dest).unwrap_err();
    assert!(
        matches!(
            &err,
            ImageError::EspFileTooLarge { path, size }
                if path == "kiln/huge.img" && *size == 4u64 << 30
        ),
        "{err:?}"
    );
    assert_eq!(code(&err), "kiln::image::esp_file_too_large");
    assert!(err.help().is_some());
    assert_eq!(std::fs::read_dir(&out).unwrap().count(), 0);
    // The message names the file as the spec does.
    assert!(err.to_string().contains("kiln/huge.img"));
}

fn code(err: &ImageError) -> String {
    err.code().map(|code| code.to_string()).unwrap_or_default()
}

#[test]
fn bad_input_is_a_diagnostic() {
    let cases: &[(&str, &str)] = &[
        ("", "kiln::image::esp_invalid_path"),
        ("EFI//BOOT", "kiln::image::esp_invalid_path"),
        ("EFI/BOOT/", "kiln::image::esp_invalid_path"),
        ("EFI/../x", "kiln::image::esp_invalid_path"),
        ("EFI/a:b", "kiln::image::esp_invalid_path"),
        ("EFI/back\\slash", "kiln::image::esp_invalid_path"),
        ("EFI/trailing.", "kiln::image::esp_invalid_path"),
        ("EFI/emoji\u{1F600}", "kiln::image::esp_invalid_path"),
    ];
    for (path, want) in cases {
        let mut spec = EspSpec::new("", 0);
        spec.add_file(path, bytes(b""));
        let err = write_esp_to_vec(&spec).unwrap_err();
        assert_eq!(code(&err), *want, "{path:?}: {err:?}");
        assert!(err.help().is_some());
    }
    let mut spec = EspSpec::new("", 0);
    spec.add_file("EFI/BOOT/BOOTX64.EFI", bytes(b"a"));
    spec.add_file("efi/boot/bootx64.efi", bytes(b"b"));
    let err = write_esp_to_vec(&spec).unwrap_err();
    assert_eq!(code(&err), "kiln::image::esp_path_conflict");
    let mut spec = EspSpec::new("lowercase", 0);
    spec.add_file("x", bytes(b""));
    let err = write_esp_to_vec(&spec).unwrap_err();
    assert_eq!(code(&err), "kiln::image::esp_invalid_label");

    let tmp = tempfile::tempdir().unwrap();
    let gone = tmp.path().join("gone");
    let mut spec = EspSpec::new("", 0);
    spec.add_file("x", FileSource::Path(gone.clone()));
    let err = write_esp(&spec, &tmp.path().join("x.img")).unwrap_err();
    assert!(
        matches!(&err, ImageError::EspReadSource { path, .. } if *path == gone),
        "{err:?}"
    );
    let mut spec = EspSpec::new("", 0);
    spec.add_file("dir", FileSource::Path(tmp.path().to_path_buf()));
    let err = write_esp(&spec, &tmp.path().join("x.img")).unwrap_err();
    assert!(matches!(&err, ImageError::EspReadSource { .. }), "{err:?}");
    // A destination directory that does not exist.
    let spec = EspSpec::new("", 0);
    let err = write_esp(&spec, &tmp.path().join("missing/x.img")).unwrap_err();
    assert!(matches!(&err, ImageError::EspWrite { .. }), "{err:?}");
    assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 0);
}

// ---- independent readers (KILN_SLOW_TESTS=1) ----

/// `fsck.vfat -n` (check only) exits 0 and prints its version and summary lines, no repairs.
fn fsck_clean(mut fsck: Command, image: &Path) {
    fsck.arg("-n").arg(image);
    let report = String::from_utf8_lossy(&run(fsck)).into_owned();
    assert_eq!(report.lines().count(), 2, "{report}");
    assert!(report.contains("files,"), "{report}");
}

/// `fsck.vfat -n` finds nothing to repair, and mtools lists the loader directory and reads back
/// every file byte for byte.
#[test]
fn fsck_and_mtools_read_what_kiln_writes() {
    let Some(fsck) = tool("fsck.vfat") else {
        return;
    };
    let Some(_) = tool("mtype") else { return };
    let tmp = tempfile::tempdir().unwrap();
    let (spec, want) = sample_spec(tmp.path());
    let image = tmp.path().join("efi.img");
    let summary: EspSummary = write_esp(&spec, &image).unwrap();
    fsck_clean(fsck, &image);

    let mtools = |program: &str, target: &str| {
        let mut cmd = Command::new(program);
        // mtools reads a non-ASCII name in the locale's charset: UTF-8, whatever the caller's
        // locale is (a new user's login shell has POSIX).
        cmd.env("LC_ALL", "C.UTF-8");
        cmd.arg("-i").arg(&image).arg(format!("::/{target}"));
        run(cmd)
    };
    let listing = String::from_utf8_lossy(&mtools("mdir", "EFI/BOOT")).into_owned();
    assert!(listing.contains("BOOTX64  EFI"), "{listing}");
    assert!(listing.contains(" 70000 "), "{listing}");
    assert!(listing.contains("2023-11-14"), "{listing}");
    let listing = String::from_utf8_lossy(&mtools("mdir", "EFI/systemd")).into_owned();
    assert!(listing.contains("systemd-bootx64.efi"), "{listing}");
    for (path, data) in &want {
        assert!(mtools("mtype", path) == *data, "{path} differs under mtype");
    }
    let mut label = Command::new("mlabel");
    label.arg("-i").arg(&image).args(["-s", "::"]);
    let label = String::from_utf8_lossy(&run(label)).into_owned();
    assert!(label.contains("KILN ESP"), "{label}");
    eprintln!("{summary:?}");
}

/// fsck.vfat also accepts the other FAT types kiln picks: FAT12 for a loader alone.
#[test]
fn fsck_accepts_a_fat12_loader_only_esp() {
    let Some(fsck) = tool("fsck.vfat") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let mut spec = EspSpec::new("LOADER", TIMESTAMP);
    spec.add_file("EFI/BOOT/BOOTX64.EFI", bytes(&pattern(120_000, 4)));
    let image: PathBuf = tmp.path().join("small.img");
    let summary = write_esp(&spec, &image).unwrap();
    assert_eq!(summary.fat, FatKind::Fat12);
    fsck_clean(fsck, &image);
}
