//! No panics on any input: arbitrary text into every parser, arbitrary bytes into the unpacker.

use kiln_debian::{deb822, parse_packages, parse_relations, unpack_deb, Lock};
use proptest::prelude::*;

/// Text made of the pieces these formats are built from, so inputs get past the first line.
fn structured_text() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            Just("Package: a\n".to_string()),
            Just("Version: 1:2.0~rc1-1\n".to_string()),
            Just("Depends: b (>= 1) | c, d [amd64]\n".to_string()),
            Just("SHA256: 00\n".to_string()),
            Just("\n".to_string()),
            Just(" continuation\n".to_string()),
            Just("[[package]]\n".to_string()),
            Just("lock-version = 1\n".to_string()),
            Just("name = x\n".to_string()),
            "\\PC{0,12}",
        ],
        0..24,
    )
    .prop_map(|parts| parts.concat())
}

proptest! {
    #[test]
    fn parsers_never_panic(text in structured_text()) {
        let _ = deb822::parse(&text, "fuzz");
        let _ = parse_packages(&text, "fuzz");
        let _ = parse_relations(&text);
        let _ = Lock::parse(&text, "fuzz");
    }

    #[test]
    fn unpacker_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..2048), prefix in any::<bool>()) {
        let dir = tempfile::tempdir().unwrap();
        let deb = dir.path().join("x.deb");
        let mut data = if prefix { b"!<arch>\ndebian-binary   0           0     0     100644  4         `\n2.0\n".to_vec() } else { Vec::new() };
        data.extend(bytes);
        std::fs::write(&deb, data).unwrap();
        let _ = unpack_deb(&deb, &dir.path().join("out"));
    }
}

proptest! {
    #[test]
    fn garbage_data_tar_never_panics(
        bytes in prop::collection::vec(any::<u8>(), 0..4096),
        member in prop_oneof![Just("data.tar"), Just("data.tar.xz"), Just("data.tar.gz"), Just("data.tar.zst")],
    ) {
        let mut ar = ar::Builder::new(Vec::new());
        ar.append(&ar::Header::new(b"debian-binary".to_vec(), 4), &b"2.0\n"[..]).unwrap();
        ar.append(&ar::Header::new(member.as_bytes().to_vec(), bytes.len() as u64), bytes.as_slice()).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let deb = dir.path().join("x.deb");
        std::fs::write(&deb, ar.into_inner().unwrap()).unwrap();
        let _ = unpack_deb(&deb, &dir.path().join("out"));
    }
}

/// Found by the `deb` fuzz target: an `ar` header whose fields the `ar` crate 0.9 read as a
/// BSD long name past its table, and panicked on. kiln reads `ar` itself now; this is an error.
#[test]
fn a_hostile_ar_header_is_an_error_not_a_panic() {
    let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/hostile/ar-name-table-overflow.deb");
    let dir = tempfile::tempdir().unwrap();
    let err = unpack_deb(&fixture, &dir.path().join("out")).unwrap_err();
    assert_eq!(err.code_str(), "kiln::debian::bad_deb", "{err}");
}
