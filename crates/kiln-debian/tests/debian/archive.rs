//! The trust chain over a fixture archive served from `file://`: a signed `InRelease`,
//! `Packages` checked against it, the cache in the store, and tampering rejected.

use crate::common::{fixture_options, fixtures};
use kiln_debian::{open_index, ArchiveOptions, DebianError, Lock};
use kiln_store::Store;
use std::path::Path;

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let dest = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &dest);
        } else {
            std::fs::copy(entry.path(), dest).unwrap();
        }
    }
}

/// A private copy of the fixture archive, a store, and options pointing at both.
fn setup() -> (kiln_testkit::TempDir, Store, ArchiveOptions) {
    let dir = kiln_testkit::tempdir().unwrap();
    let archive = dir.path().join("archive");
    copy_tree(&fixtures().join("archive"), &archive);
    let store = Store::open(dir.path().join("store")).unwrap();
    let options = fixture_options(&archive);
    (dir, store, options)
}

fn dists(dir: &kiln_testkit::TempDir) -> std::path::PathBuf {
    dir.path().join("archive/dists/bookworm")
}

#[test]
fn index_verifies_caches_and_works_offline() {
    let (dir, store, mut options) = setup();
    let index = open_index(&store, &options, None).unwrap();
    assert_eq!(index.release.codename, "bookworm");
    assert!(index.get("app").is_some());
    assert!(index.get("contrib-tool").is_some());
    assert_eq!(index.versions("tool").len(), 2);
    // InRelease and the three Packages files are in the store.
    let names: Vec<String> = store
        .list()
        .unwrap()
        .iter()
        .map(|e| e.entry.name().to_string())
        .collect();
    assert_eq!(names.len(), 4, "{names:?}");
    assert!(names.iter().any(|n| n == "debian-bookworm-InRelease"));
    assert!(names
        .iter()
        .any(|n| n == "debian-bookworm-main-amd64-Packages"));
    // With the archive gone and the network off, the pinned release still opens.
    std::fs::remove_dir_all(dir.path().join("archive")).unwrap();
    options.offline = true;
    let again = open_index(&store, &options, Some(&index.release.inrelease_sha256)).unwrap();
    assert_eq!(again.len(), index.len());
    // Offline without a cached pin is a clear error.
    let err = open_index(&store, &options, Some(&"00".repeat(32))).unwrap_err();
    assert_eq!(err.code_str(), "kiln::debian::offline_index");
    // Unpinned, offline or unreachable: the newest cached release.
    assert_eq!(
        open_index(&store, &options, None).unwrap().len(),
        index.len()
    );
    options.offline = false;
    assert_eq!(
        open_index(&store, &options, None).unwrap().len(),
        index.len()
    );
    let empty = Store::open(dir.path().join("empty-store")).unwrap();
    let err = open_index(&empty, &options, None).unwrap_err();
    assert_eq!(err.code_str(), "kiln::debian::download");
    options.offline = true;
    let err = open_index(&empty, &options, None).unwrap_err();
    assert_eq!(err.code_str(), "kiln::debian::offline_index");
}

#[test]
fn bad_signature_is_rejected_and_nothing_registered() {
    let (dir, store, options) = setup();
    let path = dists(&dir).join("InRelease");
    let mut bytes = std::fs::read(&path).unwrap();
    // Change one byte of the signed text: `Codename: bookworm` → `Codename: bookwork`.
    let at = bytes.windows(8).position(|w| w == b"bookworm").unwrap() + 7;
    bytes[at] = b'k';
    std::fs::write(&path, bytes).unwrap();
    let err = open_index(&store, &options, None).unwrap_err();
    assert!(matches!(err, DebianError::BadSignature { .. }), "{err:?}");
    assert_eq!(err.code_str(), "kiln::debian::bad_signature");
    assert!(store.list().unwrap().is_empty());
}

#[test]
fn wrong_keyring_is_rejected() {
    let (_dir, store, mut options) = setup();
    options.keyring = "/usr/share/keyrings/debian-archive-keyring.gpg".into();
    if options.keyring.exists() {
        let err = open_index(&store, &options, None).unwrap_err();
        assert_eq!(err.code_str(), "kiln::debian::bad_signature");
    }
    options.keyring = "/nonexistent/keyring.gpg".into();
    let err = open_index(&store, &options, None).unwrap_err();
    assert_eq!(err.code_str(), "kiln::debian::no_keyring");
    assert!(store.list().unwrap().is_empty());
}

#[test]
fn tampered_packages_is_rejected_and_not_registered() {
    let (dir, store, options) = setup();
    let path = dists(&dir).join("main/binary-amd64/Packages.xz");
    let text = std::fs::read_to_string(fixtures().join("packages-main.txt")).unwrap();
    let evil = text.replace("SHA256: 2", "SHA256: 3");
    let mut xz = liblzma::write::XzEncoder::new(Vec::new(), 6);
    std::io::Write::write_all(&mut xz, evil.as_bytes()).unwrap();
    let mut compressed = xz.finish().unwrap();
    // Keep the size the release promises, so the hash is what catches it.
    let want = std::fs::metadata(&path).unwrap().len() as usize;
    compressed.resize(want, 0);
    std::fs::write(&path, compressed).unwrap();
    let err = open_index(&store, &options, None).unwrap_err();
    assert_eq!(err.code_str(), "kiln::debian::hash_mismatch", "{err}");
    assert!(
        err.to_string().contains("main/binary-amd64/Packages.xz"),
        "{err}"
    );
    let names: Vec<String> = store
        .list()
        .unwrap()
        .iter()
        .map(|e| e.entry.name().to_string())
        .collect();
    assert!(!names.iter().any(|n| n.contains("-main-")), "{names:?}");
}

#[test]
fn truncated_packages_is_a_size_mismatch() {
    let (dir, store, options) = setup();
    let path = dists(&dir).join("contrib/binary-amd64/Packages.xz");
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() - 1]).unwrap();
    let err = open_index(&store, &options, None).unwrap_err();
    assert_eq!(err.code_str(), "kiln::debian::size_mismatch", "{err}");
}

#[test]
fn ensure_adds_missing_names_offline_from_the_pinned_release() {
    let (dir, store, mut options) = setup();
    let mut lock = Lock::default();
    let names = vec!["app".to_string()];
    let err = lock.ensure(&store, &options, &names, true).unwrap_err();
    assert_eq!(err.code_str(), "kiln::debian::lock_missing");
    let changes = lock.ensure(&store, &options, &names, false).unwrap();
    assert!(changes.iter().any(|c| c.name == "libc6"), "{changes:?}");
    assert_eq!(lock.suite, "bookworm");
    assert!(lock
        .ensure(&store, &options, &names, true)
        .unwrap()
        .is_empty());
    // The archive is gone: adding a name resolves against the cached, pinned release.
    std::fs::remove_dir_all(dir.path().join("archive")).unwrap();
    options.offline = true;
    let more = vec!["app".to_string(), "tool".to_string()];
    let changes = lock.ensure(&store, &options, &more, false).unwrap();
    assert_eq!(changes.len(), 1);
    assert_eq!(changes[0].new.as_deref(), Some("2.0-1"));
    assert!(lock.requests.contains("tool"));
}
