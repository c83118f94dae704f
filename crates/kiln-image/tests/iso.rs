//! ISO writer tests: round trips through the in-tree reader (examples and proptest), determinism
//! across thread counts, bad input, and, under `KILN_SLOW_TESTS=1`, independent readers
//! (`xorriso`, `isoinfo`).

mod common;
use common::{run, tool};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use kiln_image::esp::{write_esp, write_esp_to_vec, EspSpec};
use kiln_image::iso::read::{read_iso, ReadNode};
use kiln_image::iso::{
    write_iso, BootOptions, FileSource, IsoDir, IsoNode, IsoSpec, IsoTree, VolumeId,
};
use kiln_image::ImageError;
use proptest::prelude::*;

fn bytes(data: &[u8]) -> FileSource {
    FileSource::Bytes(Arc::from(data))
}

/// A small tree with what matters: long and clashing names, modes, symlinks, nesting, an empty
/// file, a file from disk and a name long enough to need a Rock Ridge continuation area.
fn sample_tree(dir: &Path) -> IsoTree {
    let on_disk = dir.join("on-disk.bin");
    let big: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(&on_disk, &big).unwrap();
    let mut tree = IsoTree::new();
    tree.add_file("README.md", 0o644, bytes(b"hello\n"))
        .unwrap();
    tree.add_file("Readme.MD", 0o600, bytes(b"other\n"))
        .unwrap();
    tree.add_file("bin/busybox", 0o755, FileSource::Path(on_disk))
        .unwrap();
    tree.add_symlink("bin/sh", "busybox").unwrap();
    tree.add_symlink("lib64", "/usr/lib/x86_64-linux-gnu/../lib64/./x")
        .unwrap();
    tree.add_file("empty", 0o444, bytes(b"")).unwrap();
    tree.add_dir("private", 0o700).unwrap();
    tree.add_file(
        &format!("private/{}", "long-name-".repeat(25)),
        0o640,
        bytes(b"long"),
    )
    .unwrap();
    tree.add_symlink(
        &format!("private/{}", "l".repeat(200)),
        &format!("{}end", "t/".repeat(150)),
    )
    .unwrap();
    tree.add_file("a/b/c/d/e/f/g/h/deep.txt", 0o644, bytes(b"deep"))
        .unwrap();
    tree
}

/// What the reader should return for a tree.
fn expected(dir: &IsoDir) -> ReadNode {
    let entries = dir
        .entries
        .iter()
        .map(|(name, node)| {
            let read = match node {
                IsoNode::Dir(sub) => expected(sub),
                IsoNode::File { mode, source } => {
                    let data = match source {
                        FileSource::Bytes(data) => data.to_vec(),
                        FileSource::Path(path) => std::fs::read(path).unwrap(),
                    };
                    ReadNode::File { mode: *mode, data }
                }
                IsoNode::Symlink { mode, target } => ReadNode::Symlink {
                    mode: *mode,
                    target: target.clone(),
                },
            };
            (name.clone(), read)
        })
        .collect::<BTreeMap<_, _>>();
    ReadNode::Dir {
        mode: dir.mode,
        entries,
    }
}

fn write(spec: &IsoSpec, dir: &Path, name: &str) -> PathBuf {
    let path = dir.join(name);
    write_iso(spec, &path).unwrap();
    path
}

#[test]
fn round_trip_sample_tree() {
    let tmp = tempfile::tempdir().unwrap();
    let spec = IsoSpec::new(
        VolumeId::new("KILN_TEST").unwrap(),
        sample_tree(tmp.path()),
        1_700_000_000,
    );
    let path = write(&spec, tmp.path(), "t.iso");
    let image = std::fs::read(&path).unwrap();
    assert_eq!(image.len() % 2048, 0);
    let read = read_iso(&image).unwrap();
    assert_eq!(read.volume_id, "KILN_TEST");
    assert_eq!(read.root, expected(&spec.tree.root));
    assert!(read.boot.is_empty());
}

/// Symlinks are normalised by SL components: `a//b` reads back as `a/b`, so the generator only
/// produces canonical targets.
fn arb_tree() -> impl Strategy<Value = Vec<(Vec<String>, u8, Vec<u8>, u32)>> {
    let name = "[a-zA-Z0-9._-]{1,40}".prop_filter("not . or ..", |n| n != "." && n != "..");
    let entry = (
        prop::collection::vec(name, 1..4),
        0u8..3,
        prop::collection::vec(any::<u8>(), 0..5000),
        0u32..0o7777,
    );
    prop::collection::vec(entry, 0..40)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]
    #[test]
    fn round_trip_random_trees(entries in arb_tree()) {
        let mut tree = IsoTree::new();
        for (parts, kind, data, mode) in entries {
            let path = parts.join("/");
            // Conflicting paths are rejected by the tree; skip them like a user would.
            let _ = match kind {
                0 => tree.add_file(&path, mode, FileSource::Bytes(Arc::from(data))),
                1 => tree.add_dir(&path, mode),
                _ => tree.add_symlink(&path, &format!("../{}", parts[0])),
            };
        }
        let tmp = tempfile::tempdir().unwrap();
        let spec = IsoSpec::new(VolumeId::new("PROP").unwrap(), tree, 0);
        let path = write(&spec, tmp.path(), "p.iso");
        let read = read_iso(&std::fs::read(path).unwrap()).unwrap();
        prop_assert_eq!(read.root, expected(&spec.tree.root));
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]
    /// The reader returns an error, never panics, on damaged images.
    #[test]
    fn reader_survives_corruption(flips in prop::collection::vec((0usize..120_000, any::<u8>()), 1..40)) {
        let tmp = tempfile::tempdir().unwrap();
        let spec = boot_spec(tmp.path());
        let path = write(&spec, tmp.path(), "c.iso");
        let mut image = std::fs::read(path).unwrap();
        for (at, byte) in flips {
            let at = at % image.len();
            image[at] = byte;
        }
        let _ = read_iso(&image);
    }
}

fn boot_spec(tmp: &Path) -> IsoSpec {
    let mut tree = sample_tree(tmp);
    let isolinux: Vec<u8> = (0..24_576u32).map(|i| (i * 7 % 256) as u8).collect();
    tree.add_file("isolinux/isolinux.bin", 0o644, bytes(&isolinux))
        .unwrap();
    tree.add_file("boot/efi.img", 0o644, bytes(&vec![0xE5; 2_000_000]))
        .unwrap();
    let mut spec = IsoSpec::new(
        VolumeId::new("nixos-minimal-25.05-x86_64").unwrap(),
        tree,
        1_700_000_000,
    );
    spec.boot = BootOptions {
        bios_image: Some("isolinux/isolinux.bin".into()),
        efi_image: Some("boot/efi.img".into()),
        catalog_path: Some("isolinux/boot.cat".into()),
        hybrid_mbr: None,
        hybrid_gpt: false,
    };
    spec
}

#[test]
fn el_torito_catalog_and_boot_info_table() {
    let tmp = tempfile::tempdir().unwrap();
    let spec = boot_spec(tmp.path());
    let image = std::fs::read(write(&spec, tmp.path(), "b.iso")).unwrap();
    let read = read_iso(&image).unwrap();
    assert_eq!(read.boot.len(), 2);
    assert_eq!((read.boot[0].platform, read.boot[0].sectors), (0, 4));
    assert_eq!((read.boot[1].platform, read.boot[1].sectors), (0xEF, 3907));
    // The boot info table: PVD at 16, the file's LBA, its length, and the checksum from byte 64.
    let lba = read.boot[0].lba;
    let at = usize::try_from(lba).unwrap() * 2048;
    let word = |off: usize| u32::from_le_bytes(image[at + off..at + off + 4].try_into().unwrap());
    assert_eq!((word(8), word(12), word(16)), (16, lba, 24_576));
    let sum = (64..24_576)
        .step_by(4)
        .fold(0u32, |acc, off| acc.wrapping_add(word(off)));
    assert_eq!(word(20), sum);
    // The EFI image is stored unchanged.
    let efi = usize::try_from(read.boot[1].lba).unwrap() * 2048;
    assert!(image[efi..efi + 2_000_000].iter().all(|b| *b == 0xE5));
}

#[test]
fn same_bytes_whatever_the_thread_count() {
    let tmp = tempfile::tempdir().unwrap();
    let spec = boot_spec(tmp.path());
    let mut images = Vec::new();
    for threads in [1, 4] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        let path = pool.install(|| write(&spec, tmp.path(), &format!("t{threads}.iso")));
        images.push(std::fs::read(path).unwrap());
    }
    assert!(
        images[0] == images[1],
        "1-thread and 4-thread images differ"
    );
}

#[test]
fn bad_volume_ids() {
    let too_long = VolumeId::new(&"A".repeat(33)).unwrap_err();
    assert!(matches!(
        too_long,
        ImageError::IsoVolumeIdTooLong { len: 33, .. }
    ));
    let illegal = VolumeId::new("KILN\u{e9}").unwrap_err();
    assert!(matches!(
        illegal,
        ImageError::IsoVolumeIdIllegalChar {
            ch: '\u{e9}',
            index: 4,
            ..
        }
    ));
    assert!(matches!(
        VolumeId::new("A\tB").unwrap_err(),
        ImageError::IsoVolumeIdIllegalChar { index: 1, .. }
    ));
    assert!(matches!(
        VolumeId::new("").unwrap_err(),
        ImageError::IsoVolumeIdEmpty
    ));
    assert!(VolumeId::new(&"A".repeat(32)).is_ok());
}

#[test]
fn file_over_4_gib_is_a_clear_error_and_leaves_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let sparse = tmp.path().join("sparse");
    std::fs::File::create(&sparse)
        .unwrap()
        .set_len((4u64 << 30) + 1)
        .unwrap();
    let mut tree = IsoTree::new();
    tree.add_file("huge.img", 0o644, FileSource::Path(sparse))
        .unwrap();
    let spec = IsoSpec::new(VolumeId::new("BIG").unwrap(), tree, 0);
    let dest = tmp.path().join("big.iso");
    let err = write_iso(&spec, &dest).unwrap_err();
    assert!(
        matches!(err, ImageError::IsoFileTooLarge { size, .. } if size == (4u64 << 30) + 1),
        "{err:?}"
    );
    assert!(!dest.exists());
}

#[test]
fn write_error_leaves_no_file() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    std::fs::create_dir(&out).unwrap();
    // A directory given as a file source: layout accepts its size, but reading it fails once
    // the temporary image exists and the metadata is written, i.e. half-way through the write.
    let mut tree = IsoTree::new();
    tree.add_file("ok", 0o644, bytes(&vec![7u8; 100_000]))
        .unwrap();
    tree.add_file(
        "not-a-file",
        0o644,
        FileSource::Path(tmp.path().to_path_buf()),
    )
    .unwrap();
    let spec = IsoSpec::new(VolumeId::new("FAIL").unwrap(), tree, 0);
    let dest = out.join("x.iso");
    let err = write_iso(&spec, &dest).unwrap_err();
    assert!(matches!(err, ImageError::IsoReadSource { .. }), "{err:?}");
    assert!(!dest.exists());
    assert_eq!(
        std::fs::read_dir(&out).unwrap().count(),
        0,
        "temporary file left behind"
    );
    // A destination directory that does not exist: the temporary file cannot be created.
    let err = write_iso(&spec, &tmp.path().join("missing/dir/x.iso")).unwrap_err();
    assert!(matches!(err, ImageError::IsoWrite { .. }), "{err:?}");
    // A source removed after the tree was built is reported by name at layout time.
    let gone = tmp.path().join("gone");
    let mut tree = IsoTree::new();
    tree.add_file("a", 0o644, FileSource::Path(gone.clone()))
        .unwrap();
    let spec = IsoSpec::new(VolumeId::new("GONE").unwrap(), tree, 0);
    let err = write_iso(&spec, &dest).unwrap_err();
    assert!(
        matches!(&err, ImageError::IsoReadSource { path, .. } if *path == gone),
        "{err:?}"
    );
    assert_eq!(std::fs::read_dir(&out).unwrap().count(), 0);
}

/// Files larger than one copy range (32 MiB) are written range by range on several threads,
/// from a file (copy_file_range) and from memory; every byte must land where the directory
/// record says.
#[test]
fn large_files_are_copied_exactly() {
    let tmp = tempfile::tempdir().unwrap();
    let pattern = |len: usize, seed: u32| -> Vec<u8> {
        let mut x = seed;
        (0..len)
            .map(|_| {
                x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                (x >> 24) as u8
            })
            .collect()
    };
    let on_disk = pattern((70 << 20) + 123, 1);
    let in_memory = pattern((33 << 20) + 7, 2);
    let big = tmp.path().join("big.bin");
    std::fs::write(&big, &on_disk).unwrap();
    let mut tree = IsoTree::new();
    tree.add_file("big.bin", 0o644, FileSource::Path(big.clone()))
        .unwrap();
    tree.add_file("mem.bin", 0o644, bytes(&in_memory)).unwrap();
    tree.add_file("small.txt", 0o644, bytes(b"small\n"))
        .unwrap();
    let spec = IsoSpec::new(VolumeId::new("KILN_BIG").unwrap(), tree, 0);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(4)
        .build()
        .unwrap();
    let path = pool.install(|| write(&spec, tmp.path(), "big.iso"));
    let image = std::fs::read(&path).unwrap();
    let read = read_iso(&image).unwrap();
    assert_eq!(read.root, expected(&spec.tree.root));
}

#[test]
fn bad_tree_input() {
    let mut tree = IsoTree::new();
    tree.add_file("a/b", 0o644, bytes(b"")).unwrap();
    assert!(matches!(
        tree.add_file("a/b", 0o644, bytes(b"")),
        Err(ImageError::IsoPathConflict { .. })
    ));
    assert!(matches!(
        tree.add_file("a/b/c", 0o644, bytes(b"")),
        Err(ImageError::IsoPathConflict { .. })
    ));
    assert!(matches!(
        tree.add_file(&"n".repeat(256), 0o644, bytes(b"")),
        Err(ImageError::IsoInvalidName { .. })
    ));
    assert!(matches!(
        tree.add_symlink("..", "x"),
        Err(ImageError::IsoInvalidName { .. })
    ));
    let mut spec = IsoSpec::new(VolumeId::new("X").unwrap(), tree, 0);
    spec.boot.bios_image = Some("nope.bin".into());
    let tmp = tempfile::tempdir().unwrap();
    let err = write_iso(&spec, &tmp.path().join("x.iso")).unwrap_err();
    assert!(matches!(err, ImageError::IsoBootFileMissing { .. }));
}

// ---- independent readers (KILN_SLOW_TESTS=1) ----

#[test]
fn xorriso_lists_rock_ridge_tree() {
    let Some(mut cmd) = tool("xorriso") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let spec = boot_spec(tmp.path());
    let iso = write(&spec, tmp.path(), "x.iso");
    cmd.args(["-abort_on", "WARNING", "-indev"])
        .arg(&iso)
        .args(["-find", "/", "-exec", "lsdl"]);
    let listing = run(cmd);
    // Each line: mode links owner group size date 'path' [-> 'target'].
    let mut seen = BTreeMap::new();
    for line in listing.lines().filter(|l| l.contains('\'')) {
        let mode = line.split_whitespace().next().unwrap().to_owned();
        let quoted: Vec<&str> = line.split('\'').collect();
        let target = if line.contains(" -> ") {
            quoted.get(3).map(|s| s.to_string())
        } else {
            None
        };
        seen.insert(quoted[1].to_owned(), (mode, target));
    }
    let mut want = BTreeMap::new();
    fn walk(dir: &IsoDir, prefix: &str, want: &mut BTreeMap<String, (String, Option<String>)>) {
        for (name, node) in &dir.entries {
            let path = format!("{prefix}/{name}");
            match node {
                IsoNode::Dir(sub) => {
                    want.insert(path.clone(), (ls_mode('d', sub.mode), None));
                    walk(sub, &path, want);
                }
                IsoNode::File { mode, .. } => drop(want.insert(path, (ls_mode('-', *mode), None))),
                IsoNode::Symlink { mode, target } => {
                    drop(want.insert(path, (ls_mode('l', *mode), Some(target.clone()))))
                }
            }
        }
    }
    walk(&spec.tree.root, "", &mut want);
    want.insert("/".into(), (ls_mode('d', 0o755), None));
    // xorriso shows the boot catalog with its own file type letter `e`.
    want.insert("/isolinux/boot.cat".into(), (ls_mode('e', 0o444), None));
    // xorriso prints symlink targets as stored; ours are canonical except `t/t/…/` (trailing /).
    for (path, (mode, target)) in &want {
        let got = seen
            .get(path)
            .unwrap_or_else(|| panic!("xorriso does not list {path}:\n{listing}"));
        assert_eq!(&got.0, mode, "{path}");
        if let Some(target) = target {
            assert_eq!(
                got.1.as_deref().map(|t| t.trim_end_matches('/')),
                Some(target.trim_end_matches('/')),
                "{path}"
            );
        }
    }
    assert_eq!(seen.len(), want.len(), "{listing}");
}

fn ls_mode(kind: char, mode: u32) -> String {
    let mut out = String::from(kind);
    for shift in [6, 3, 0] {
        let bits = (mode >> shift) & 7;
        out.push(if bits & 4 != 0 { 'r' } else { '-' });
        out.push(if bits & 2 != 0 { 'w' } else { '-' });
        out.push(if bits & 1 != 0 { 'x' } else { '-' });
    }
    out
}

#[test]
fn isoinfo_reads_volume_id_el_torito_and_contents() {
    let Some(mut cmd) = tool("isoinfo") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let spec = boot_spec(tmp.path());
    let iso = write(&spec, tmp.path(), "i.iso");
    cmd.arg("-d").arg("-i").arg(&iso);
    let info = run(cmd);
    assert!(
        info.contains("Volume id: nixos-minimal-25.05-x86_64"),
        "{info}"
    );
    assert!(
        info.contains("Rock Ridge signatures version 1 found"),
        "{info}"
    );
    assert!(info.contains("Eltorito validation header:"), "{info}");
    assert!(info.contains("Boot media 0 (No Emulation Boot)"), "{info}");
    assert!(info.contains("Nsect 4"), "{info}");
    for (path, want) in [
        ("/README.md", b"hello\n".to_vec()),
        (
            "/bin/busybox",
            std::fs::read(tmp.path().join("on-disk.bin")).unwrap(),
        ),
        ("/a/b/c/d/e/f/g/h/deep.txt", b"deep".to_vec()),
    ] {
        let out = Command::new("isoinfo")
            .args(["-R", "-i"])
            .arg(&iso)
            .args(["-x", path])
            .output()
            .unwrap();
        assert!(out.status.success());
        assert!(out.stdout == want, "isoinfo -x {path} differs");
    }
}

// ---- isohybrid ----

fn hybrid_spec(tmp: &Path, template: Vec<u8>) -> IsoSpec {
    let mut spec = boot_spec(tmp);
    spec.boot.hybrid_mbr = Some(Arc::from(template));
    spec.boot.hybrid_gpt = true;
    spec
}

fn le32(image: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(image[at..at + 4].try_into().unwrap())
}

#[test]
fn isohybrid_mbr_and_gpt() {
    let tmp = tempfile::tempdir().unwrap();
    let spec = hybrid_spec(tmp.path(), vec![0x33; 432]);
    let image = std::fs::read(write(&spec, tmp.path(), "h.iso")).unwrap();
    assert_eq!(image.len() % (1 << 20), 0, "padded to whole MiB");
    let read = read_iso(&image).unwrap();
    // The tree reads back unchanged, apart from the boot catalog and the patched boot image.
    let strip = |mut node: ReadNode| {
        if let ReadNode::Dir { entries, .. } = &mut node {
            if let Some(ReadNode::Dir {
                entries: isolinux, ..
            }) = entries.get_mut("isolinux")
            {
                isolinux.remove("isolinux.bin");
                isolinux.remove("boot.cat");
            }
        }
        node
    };
    assert_eq!(strip(read.root.clone()), strip(expected(&spec.tree.root)));
    assert!(image[..432].iter().all(|b| *b == 0x33));
    assert_eq!(
        u64::from_le_bytes(image[432..440].try_into().unwrap()),
        u64::from(read.boot[0].lba) * 4
    );
    assert_eq!(&image[510..512], &[0x55, 0xAA]);
    // Partition 1: active, type 0, the whole image; partition 2: type 0xEF, the ESP image.
    assert_eq!(
        (image[446], image[450], le32(&image, 454), le32(&image, 458)),
        (0x80, 0, 0, u32::try_from(image.len() / 512).unwrap())
    );
    assert_eq!(
        (image[466], le32(&image, 470), le32(&image, 474)),
        (0xEF, read.boot[1].lba * 4, 3907)
    );
    // GPT headers at sector 1 and at the last sector point at each other.
    assert_eq!(&image[512..520], b"EFI PART");
    let last = image.len() - 512;
    assert_eq!(&image[last..last + 8], b"EFI PART");
    assert_eq!(
        u64::from_le_bytes(image[512 + 32..512 + 40].try_into().unwrap()),
        (last / 512) as u64
    );
}

/// A USB stick boots UEFI from the partition tables, not from El Torito: MBR partition 2
/// (type 0xEF) and GPT entry 2 must both cover exactly the ESP image kiln wrote, so that the
/// firmware finds a FAT volume there.
#[test]
fn isohybrid_partitions_cover_the_esp() {
    let tmp = tempfile::tempdir().unwrap();
    let mut esp = EspSpec::new("KILN", 0);
    esp.add_file("EFI/BOOT/BOOTX64.EFI", bytes(&vec![0x5a; 3 << 20]));
    let esp = write_esp_to_vec(&esp).unwrap();
    let mut tree = IsoTree::new();
    tree.add_file("boot/efi.img", 0o644, bytes(&esp)).unwrap();
    let mut spec = IsoSpec::new(VolumeId::new("KILN_ESP").unwrap(), tree, 0);
    spec.boot.efi_image = Some("boot/efi.img".into());
    spec.boot.hybrid_mbr = Some(Arc::from(vec![0u8; 432]));
    spec.boot.hybrid_gpt = true;
    let image = std::fs::read(write(&spec, tmp.path(), "esp.iso")).unwrap();
    let sectors = u32::try_from(esp.len() / 512).unwrap();
    let start = le32(&image, 470);
    assert_eq!((image[466], le32(&image, 474)), (0xEF, sectors));
    let first = usize::try_from(start).unwrap() * 512;
    assert!(image[first..first + esp.len()] == esp[..]);
    // GPT entry 2 (UEFI 2.10 Table 5.6): first and last LBA, inclusive.
    let entry = 1024 + 128;
    let lba = |at: usize| u64::from_le_bytes(image[at..at + 8].try_into().unwrap());
    assert_eq!(
        (lba(entry + 32), lba(entry + 40)),
        (u64::from(start), u64::from(start) + u64::from(sectors) - 1)
    );
    // And what sits there is a FAT volume with the loader on it.
    let volume = std::io::Cursor::new(image[first..first + esp.len()].to_vec());
    let fs = fatfs::FileSystem::new(volume, fatfs::FsOptions::new()).unwrap();
    assert!(fs.root_dir().open_file("EFI/BOOT/BOOTX64.EFI").is_ok());
    assert_eq!(fs.volume_label(), "KILN");
}

#[test]
fn isohybrid_template_size_is_checked() {
    let tmp = tempfile::tempdir().unwrap();
    let spec = hybrid_spec(tmp.path(), vec![0; 100]);
    let err = write_iso(&spec, &tmp.path().join("x.iso")).unwrap_err();
    assert!(matches!(err, ImageError::IsoHybridMbrSize { size: 100 }));
}

/// Compares kiln's system area with xorriso's for the same boot setup, as xorriso reports them.
#[test]
fn isohybrid_matches_xorriso_structure() {
    let Some(mut ours) = tool("xorriso") else {
        return;
    };
    let isohdpfx = Path::new("/usr/lib/ISOLINUX/isohdpfx.bin");
    let isolinux = Path::new("/usr/lib/ISOLINUX/isolinux.bin");
    assert!(
        isohdpfx.exists() && isolinux.exists(),
        "apt-get install isolinux for the isohybrid test"
    );
    let tmp = tempfile::tempdir().unwrap();
    let tree_dir = tmp.path().join("tree");
    std::fs::create_dir_all(tree_dir.join("isolinux")).unwrap();
    std::fs::create_dir_all(tree_dir.join("boot")).unwrap();
    std::fs::copy(isolinux, tree_dir.join("isolinux/isolinux.bin")).unwrap();
    std::fs::write(tree_dir.join("boot/efi.img"), vec![0u8; 4 << 20]).unwrap();
    std::fs::write(tree_dir.join("hello.txt"), b"hi\n").unwrap();
    let mut tree = IsoTree::new();
    tree.add_file(
        "isolinux/isolinux.bin",
        0o644,
        FileSource::Path(tree_dir.join("isolinux/isolinux.bin")),
    )
    .unwrap();
    tree.add_file(
        "boot/efi.img",
        0o644,
        FileSource::Path(tree_dir.join("boot/efi.img")),
    )
    .unwrap();
    tree.add_file(
        "hello.txt",
        0o644,
        FileSource::Path(tree_dir.join("hello.txt")),
    )
    .unwrap();
    let mut spec = IsoSpec::new(VolumeId::new("HYBRID").unwrap(), tree, 0);
    spec.boot = BootOptions {
        bios_image: Some("isolinux/isolinux.bin".into()),
        efi_image: Some("boot/efi.img".into()),
        catalog_path: Some("isolinux/boot.cat".into()),
        hybrid_mbr: Some(Arc::from(std::fs::read(isohdpfx).unwrap())),
        hybrid_gpt: true,
    };
    let kiln_iso = write(&spec, tmp.path(), "kiln.iso");
    let ref_iso = tmp.path().join("ref.iso");
    let mut reference = Command::new("xorriso");
    reference
        .args(["-as", "mkisofs", "-quiet", "-R", "-V", "HYBRID", "-o"])
        .arg(&ref_iso);
    reference.arg("-isohybrid-mbr").arg(isohdpfx);
    reference.args([
        "-c",
        "isolinux/boot.cat",
        "-b",
        "isolinux/isolinux.bin",
        "-no-emul-boot",
        "-boot-load-size",
        "4",
    ]);
    reference.args([
        "-boot-info-table",
        "-eltorito-alt-boot",
        "-e",
        "boot/efi.img",
        "-no-emul-boot",
        "-isohybrid-gpt-basdat",
    ]);
    reference.arg(&tree_dir);
    run(reference);
    let report = |iso: &Path, cmd: &mut Command| {
        cmd.arg("-indev").arg(iso).args([
            "-report_el_torito",
            "plain",
            "-report_system_area",
            "plain",
        ]);
        let out = cmd.output().unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let ours = report(&kiln_iso, &mut ours);
    let theirs = report(&ref_iso, &mut Command::new("xorriso"));
    // Addresses differ (different layouts); the kinds of lines and their shape must match.
    let shape = |text: &str| -> Vec<String> {
        text.lines()
            .filter(|line| {
                [
                    "System area summary",
                    "MBR partition      :",
                    "GPT partname local",
                    "GPT type GUID",
                    "GPT partition flags",
                    "El Torito boot img",
                    "El Torito img path",
                ]
                .iter()
                .any(|prefix| line.starts_with(prefix))
            })
            .map(|line| {
                let fields: Vec<&str> = line.split_whitespace().collect();
                // Keep the label and the non-address columns (status, type) of partition lines.
                if line.starts_with("MBR partition      :") {
                    format!("MBR {} {} {}", fields[3], fields[4], fields[5])
                } else if line.starts_with("El Torito boot img") {
                    fields[..fields.len().min(8)].join(" ")
                } else {
                    fields.join(" ")
                }
            })
            .collect()
    };
    assert!(
        shape(&theirs).len() >= 8,
        "xorriso report too short:\n{theirs}"
    );
    assert_eq!(
        shape(&ours),
        shape(&theirs),
        "kiln:\n{ours}\nxorriso:\n{theirs}"
    );
}

/// Boots the image in QEMU (TCG) from a CD and from a raw disk (isohybrid MBR) and waits for
/// isolinux to read its configuration from the ISO file system and prompt on the serial port.
/// This checks the El Torito BIOS entry, the boot info table, the ISO 9660 structures isolinux
/// walks to find `ldlinux.c32` and `isolinux.cfg`, and the isohybrid MBR.
#[test]
fn qemu_bios_boots_isolinux_from_cd_and_usb() {
    let Some(_) = tool("qemu-system-x86_64") else {
        return;
    };
    let isolinux = Path::new("/usr/lib/ISOLINUX/isolinux.bin");
    let ldlinux = Path::new("/usr/lib/syslinux/modules/bios/ldlinux.c32");
    let isohdpfx = Path::new("/usr/lib/ISOLINUX/isohdpfx.bin");
    assert!(
        isolinux.exists() && ldlinux.exists(),
        "apt-get install isolinux syslinux-common"
    );
    let tmp = tempfile::tempdir().unwrap();
    let mut tree = IsoTree::new();
    tree.add_file(
        "isolinux/isolinux.bin",
        0o644,
        FileSource::Path(isolinux.into()),
    )
    .unwrap();
    tree.add_file(
        "isolinux/ldlinux.c32",
        0o644,
        FileSource::Path(ldlinux.into()),
    )
    .unwrap();
    let cfg = b"SERIAL 0 115200\nPROMPT 1\nTIMEOUT 0\n";
    tree.add_file("isolinux/isolinux.cfg", 0o644, bytes(cfg))
        .unwrap();
    let mut spec = IsoSpec::new(VolumeId::new("KILN_QEMU").unwrap(), tree, 0);
    spec.boot.bios_image = Some("isolinux/isolinux.bin".into());
    spec.boot.catalog_path = Some("isolinux/boot.cat".into());
    spec.boot.hybrid_mbr = Some(Arc::from(std::fs::read(isohdpfx).unwrap()));
    let iso = write(&spec, tmp.path(), "qemu.iso");
    for (label, drive) in [
        ("cd", format!("media=cdrom,file={}", iso.display())),
        ("usb", format!("format=raw,file={}", iso.display())),
    ] {
        let log = tmp.path().join(format!("serial-{label}.log"));
        let mut child = Command::new("qemu-system-x86_64")
            .args([
                "-m",
                "128",
                "-display",
                "none",
                "-no-reboot",
                "-drive",
                &drive,
                "-serial",
            ])
            .arg(format!("file:{}", log.display()))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(90);
        let mut text = String::new();
        while std::time::Instant::now() < deadline {
            text = String::from_utf8_lossy(&std::fs::read(&log).unwrap_or_default()).into_owned();
            if text.contains("boot:") {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(250));
        }
        eprintln!("{label}: {:?}", text.lines().last());
        let _ = child.kill();
        let _ = child.wait();
        assert!(
            text.contains("ISOLINUX") && text.contains("boot:"),
            "{label}: no isolinux prompt on serial:\n{text}"
        );
    }
}

/// Boots the image under OVMF (UEFI, TCG) from a CD (El Torito platform 0xEF entry) and from a
/// raw disk (isohybrid GPT/MBR ESP partition) and checks that the firmware starts the EFI
/// loader on the ESP image (`BdsDxe: starting Boot…` on the serial console), and that the
/// loader, systemd-boot, reads its configuration from the ESP and shows the kiln entry. The ESP
/// is written by kiln's own FAT writer (`kiln_image::esp`) and is larger than 32 MiB, as it is
/// once it holds a kernel and an initrd.
#[test]
fn qemu_uefi_starts_loader_from_cd_and_usb() {
    let Some(_) = tool("qemu-system-x86_64") else {
        return;
    };
    let ovmf_code = Path::new("/usr/share/OVMF/OVMF_CODE_4M.fd");
    let ovmf_vars = Path::new("/usr/share/OVMF/OVMF_VARS_4M.fd");
    let loader = Path::new("/usr/lib/systemd/boot/efi/systemd-bootx64.efi");
    assert!(
        ovmf_code.exists() && loader.exists(),
        "apt-get install ovmf systemd-boot-efi for the UEFI test"
    );
    let tmp = tempfile::tempdir().unwrap();
    let esp = tmp.path().join("efi.img");
    let mut esp_spec = EspSpec::new("KILN_UEFI", 1_700_000_000);
    esp_spec.add_file("EFI/BOOT/BOOTX64.EFI", FileSource::Path(loader.into()));
    esp_spec.add_file(
        "EFI/systemd/systemd-bootx64.efi",
        FileSource::Path(loader.into()),
    );
    esp_spec.add_file("loader/loader.conf", bytes(b"timeout 60\n"));
    // The entry starts the loader itself: enough for it to be listed, and no kernel is needed.
    esp_spec.add_file(
        "loader/entries/kiln.conf",
        bytes(b"title KilnEspEntry\nefi /EFI/systemd/systemd-bootx64.efi\n"),
    );
    // 40 MiB of padding where the kernel and initrd would be: the ESP outgrows the 16-bit
    // sector count of the El Torito entry (32 MiB), so the firmware must size it from the FAT.
    let padding = tmp.path().join("padding");
    std::fs::File::create(&padding)
        .unwrap()
        .set_len(40 << 20)
        .unwrap();
    esp_spec.add_file("kiln/padding.img", FileSource::Path(padding));
    let summary = write_esp(&esp_spec, &esp).unwrap();
    assert!(summary.size > 32 << 20, "{summary:?}");
    let mut tree = IsoTree::new();
    tree.add_file("boot/efi.img", 0o644, FileSource::Path(esp))
        .unwrap();
    tree.add_file("hello.txt", 0o644, bytes(b"hi\n")).unwrap();
    let mut spec = IsoSpec::new(VolumeId::new("KILN_UEFI").unwrap(), tree, 0);
    spec.boot.efi_image = Some("boot/efi.img".into());
    spec.boot.hybrid_mbr = Some(Arc::from(vec![0u8; 432]));
    spec.boot.hybrid_gpt = true;
    let iso = write(&spec, tmp.path(), "uefi.iso");
    for (label, drive, device) in [
        (
            "cd",
            format!("media=cdrom,file={}", iso.display()),
            "DVD-ROM",
        ),
        (
            "usb",
            format!("format=raw,file={}", iso.display()),
            "HARDDISK",
        ),
    ] {
        let vars = tmp.path().join(format!("vars-{label}.fd"));
        std::fs::copy(ovmf_vars, &vars).unwrap();
        let log = tmp.path().join(format!("serial-uefi-{label}.log"));
        let mut child = Command::new("qemu-system-x86_64")
            .args(["-m", "256", "-display", "none", "-no-reboot", "-drive"])
            .arg(format!(
                "if=pflash,format=raw,readonly=on,file={}",
                ovmf_code.display()
            ))
            .arg("-drive")
            .arg(format!("if=pflash,format=raw,file={}", vars.display()))
            .args(["-drive", &drive, "-serial"])
            .arg(format!("file:{}", log.display()))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
        let wanted = "starting Boot";
        let mut started = false;
        let mut menu = false;
        let mut text = String::new();
        while std::time::Instant::now() < deadline && !(started && menu) {
            text = String::from_utf8_lossy(&std::fs::read(&log).unwrap_or_default()).into_owned();
            started = text
                .lines()
                .any(|line| line.contains(wanted) && line.contains(device));
            menu = text.contains("KilnEspEntry");
            std::thread::sleep(std::time::Duration::from_millis(500));
        }
        let _ = child.kill();
        let _ = child.wait();
        assert!(
            started,
            "{label}: OVMF did not start the loader from the {device}:\n{text}"
        );
        assert!(
            menu,
            "{label}: systemd-boot did not list the entry from the ESP:\n{text}"
        );
    }
}
