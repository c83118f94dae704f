//! Unit tests of the ESP writer's planning: FAT time range, long names, labels, FAT type choice.

use super::*;
use std::sync::Arc;

fn bytes(data: &[u8]) -> FileSource {
    FileSource::Bytes(Arc::from(data))
}

#[test]
fn fat_time_clamps_to_the_fat_range() {
    assert_eq!(fat_time(0).unwrap(), FAT_EPOCH);
    let late = fat_time(i64::MAX).unwrap();
    assert_eq!(
        (late.date.year, late.date.month, late.date.day),
        (2107, 12, 31)
    );
    let t = fat_time(1_700_000_000).unwrap(); // 2023-11-14T22:13:20Z
    assert_eq!((t.date.year, t.date.month, t.date.day), (2023, 11, 14));
    assert_eq!((t.time.hour, t.time.min, t.time.sec), (22, 13, 20));
}

#[test]
fn names_follow_fat_long_name_rules() {
    for good in [
        "BOOTX64.EFI",
        "systemd-bootx64.efi",
        "kiln.conf",
        "ünïcödé",
        ".hidden",
    ] {
        assert!(check_name(good, good).is_ok(), "{good}");
    }
    for bad in [
        "",
        ".",
        "..",
        "a:b",
        "a*",
        "tab\t",
        "trailing.",
        " lead",
        "x\u{1F600}",
    ] {
        assert!(
            matches!(check_name(bad, bad), Err(ImageError::EspInvalidPath { .. })),
            "{bad:?}"
        );
    }
    assert!(check_name("n", &"n".repeat(255)).is_ok());
    assert!(check_name("n", &"n".repeat(256)).is_err());
}

#[test]
fn labels() {
    assert_eq!(check_label("").unwrap(), None);
    assert_eq!(check_label("KILN ESP").unwrap(), Some(*b"KILN ESP   "));
    for bad in ["kiln", "TWELVE_CHARS", "A.B", " X"] {
        assert!(
            matches!(check_label(bad), Err(ImageError::EspInvalidLabel { .. })),
            "{bad:?}"
        );
    }
}

#[test]
fn conflicts_are_case_insensitive() {
    let mut spec = EspSpec::new("", 0);
    spec.add_file("EFI/BOOT/A.EFI", bytes(b"a"));
    spec.add_file("efi/boot/B.EFI", bytes(b"b"));
    assert!(matches!(
        plan(&spec),
        Err(ImageError::EspPathConflict { .. })
    ));
    let mut spec = EspSpec::new("", 0);
    spec.add_file("a/b", bytes(b""));
    spec.add_file("A/B/c", bytes(b""));
    assert!(matches!(
        plan(&spec),
        Err(ImageError::EspPathConflict { .. })
    ));
    let mut spec = EspSpec::new("", 0);
    spec.add_file("x", bytes(b""));
    spec.add_file("X", bytes(b""));
    assert!(matches!(
        plan(&spec),
        Err(ImageError::EspPathConflict { .. })
    ));
    let mut spec = EspSpec::new("", 0);
    spec.add_file("/EFI/BOOT/X", bytes(b""));
    spec.add_file("EFI/BOOT/Y", bytes(b""));
    assert_eq!(plan(&spec).unwrap().dirs, 2);
}

/// FAT32 only appears past about 2 GiB of contents, too much to write in a test; the same
/// tree forced onto the smallest FAT32 geometry goes through the same writer and the `..`
/// fix that only FAT32 needs. The image is sparse: only the FATs and the used clusters are
/// written.
#[test]
fn fat32_volume_reads_back() {
    use std::io::Read as _;
    let mut spec = EspSpec::new("KILN32", 1_700_000_000);
    spec.add_file("EFI/BOOT/BOOTX64.EFI", bytes(&[7u8; 10_000]));
    spec.add_file("loader/entries/kiln.conf", bytes(b"title kiln\n"));
    let mut plan = plan(&spec).unwrap();
    let needed = clusters(&plan.root, 4096, 1);
    plan.geometry = finish(FatKind::Fat32, 4096, FAT32_MIN, needed, 0, 0).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let image = tmp.path().join("fat32.img");
    write_file(&plan, &image).unwrap();

    {
        let disk = File::open(&image).unwrap();
        let fs = fatfs::FileSystem::new(disk, fatfs::FsOptions::new()).unwrap();
        assert_eq!(fs.fat_type(), fatfs::FatType::Fat32);
        let root = fs.root_dir();
        let mut data = Vec::new();
        let mut file = root.open_file("EFI/BOOT/BOOTX64.EFI").unwrap();
        file.read_to_end(&mut data).unwrap();
        assert_eq!(data, [7u8; 10_000]);
        // `.` and `..` lead each directory.
        let names: Vec<String> = root
            .open_dir("EFI")
            .unwrap()
            .iter()
            .map(|entry| entry.unwrap().short_file_name())
            .collect();
        assert_eq!(names, [".", "..", "BOOT"]);
    }
    let raw = std::fs::read(&image).unwrap();
    let layout_data = |at: usize| u32::from_le_bytes(raw[at..at + 4].try_into().unwrap());
    // BPB: reserved sectors, FAT size; the root is cluster 2, `EFI` the first entry after
    // the label, and its first cluster's second entry is `..`.
    let reserved = usize::from(u16::from_le_bytes([raw[14], raw[15]]));
    let fat_sectors = usize::try_from(layout_data(36)).unwrap();
    let data_start = (reserved + 2 * fat_sectors) * 512;
    let root_dir = &raw[data_start..data_start + 4096];
    let efi = root_dir
        .chunks_exact(32)
        .find(|entry| &entry[..11] == b"EFI        ")
        .unwrap();
    let efi_cluster = usize::from(u16::from_le_bytes([efi[26], efi[27]]));
    let efi_dir = data_start + (efi_cluster - 2) * 4096;
    assert_eq!(&raw[efi_dir..efi_dir + 11], b".          ");
    assert_eq!(&raw[efi_dir + 32..efi_dir + 43], b"..         ");
    assert_eq!(raw[efi_dir + 32 + 26..efi_dir + 32 + 28], [0, 0]);
    assert_eq!(raw[efi_dir + 32 + 20..efi_dir + 32 + 22], [0, 0]);
    if kiln_testkit::slow("esp_dots_are_first", &["fsck.vfat"]) {
        let out = std::process::Command::new("fsck.vfat")
            .arg("-n")
            .arg(&image)
            .output()
            .expect("run fsck.vfat");
        let report = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && report.lines().count() == 2,
            "{report}"
        );
    }
}

#[test]
fn fat_type_follows_the_contents() {
    let kind = |sizes: &[u64]| {
        let mut root = PlanDir::default();
        let mut dirs = 0;
        for (idx, size) in sizes.iter().enumerate() {
            let path = format!("d/f{idx}");
            insert(&mut root, &path, &bytes(b""), *size, &mut dirs).unwrap();
        }
        let geometry = geometry(&root, true).unwrap();
        (geometry.fat, geometry.cluster_size)
    };
    assert_eq!(kind(&[]), (FatKind::Fat12, 512));
    assert_eq!(kind(&[1 << 20]), (FatKind::Fat12, 512));
    assert_eq!(kind(&[8 << 20]), (FatKind::Fat16, 512));
    assert_eq!(kind(&[150 << 20]), (FatKind::Fat16, 4096));
    assert_eq!(kind(&[MAX_FILE; 2]), (FatKind::Fat32, 4096));
}
