//! Network tests against Debian's real archive: verify the real `InRelease`, read the real
//! indices, lock `busybox-static` and fetch + unpack it. They run only with
//! `KILN_SLOW_TESTS=1` (then a network failure fails them); otherwise they say why they skip.

use kiln_debian::{open_index, ArchiveOptions, Lock};
use kiln_store::Store;

fn slow(test: &str) -> bool {
    kiln_testkit::slow(test, &[])
}

#[test]
fn real_archive_lock_fetch_unpack_busybox() {
    if !slow("real_archive_lock_fetch_unpack_busybox") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("store")).unwrap();
    let mut options = ArchiveOptions::default();
    let index = open_index(&store, &options, None).unwrap();
    assert_eq!(index.release.codename, "bookworm");
    assert!(index.len() > 50_000, "only {} packages", index.len());
    assert!(
        index.get("firmware-brcm80211").is_some(),
        "non-free-firmware is read"
    );
    assert!(
        index.get("broadcom-sta-dkms").is_some(),
        "non-free is read by default"
    );
    // The kernel metapackage resolves to a versioned image.
    let kernel = Lock::resolve(&index, &["linux-image-amd64".to_string()]).unwrap();
    assert!(kernel
        .packages
        .keys()
        .any(|name| name.starts_with("linux-image-6.1") && name.ends_with("-amd64")));

    // The packages the profiles use resolve, closures included.
    let profile: Vec<String> = [
        "linux-image-amd64",
        "linux-headers-amd64",
        "firmware-brcm80211",
        "busybox-static",
        "isolinux",
        "syslinux-common",
        "systemd-boot-efi",
        "kmod",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let profile_lock = Lock::resolve(&index, &profile).unwrap();
    for name in ["linux-kbuild-6.1", "kmod", "firmware-brcm80211"] {
        assert!(
            profile_lock.packages.contains_key(name),
            "{name} is not in the closure"
        );
    }
    eprintln!(
        "the profile's closure has {} packages",
        profile_lock.packages.len()
    );

    let lock = Lock::resolve(&index, &["busybox-static".to_string()]).unwrap();
    let text = lock.to_text();
    assert_eq!(Lock::parse(&text, "kiln.lock").unwrap(), lock);

    // The second open needs no network: the pinned release is in the store.
    options.offline = true;
    let cached = open_index(&store, &options, Some(&lock.release)).unwrap();
    assert_eq!(cached.len(), index.len());

    let tree =
        crate::common::realise_package(&store, &lock.packages["busybox-static"], &options.mirror)
            .unwrap();
    let busybox = tree.join("bin/busybox");
    assert!(busybox.is_file(), "{} is missing", busybox.display());
    assert!(store.verify(false).unwrap().damage.is_empty());
}

#[test]
fn real_inrelease_with_one_byte_changed_is_rejected() {
    if !slow("real_inrelease_with_one_byte_changed_is_rejected") {
        return;
    }
    let options = ArchiveOptions::default();
    let url = format!("{}/dists/bookworm/InRelease", options.mirror);
    let output = std::process::Command::new("curl")
        .args(["-fsSL", &url])
        .output()
        .unwrap();
    assert!(output.status.success(), "curl {url} failed");
    let mut bytes = output.stdout;
    kiln_debian::verify_inrelease(&bytes, &options.keyring, &url).unwrap();
    let at = bytes.windows(8).position(|w| w == b"bookworm").unwrap();
    bytes[at] = b'B';
    let err = kiln_debian::verify_inrelease(&bytes, &options.keyring, &url).unwrap_err();
    assert_eq!(err.code_str(), "kiln::debian::bad_signature");
}
