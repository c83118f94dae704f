//! Fuzz target body `deb`: hostile Debian archive inputs must give a value or a `DebianError`,
//! never a panic, a hang or unbounded memory, and an unpacked `.deb` must never write outside
//! its output directory. The first byte chooses the reader, the rest is its input:
//!
//! - `0`: a `.deb` (`ar` with `debian-binary`, `control.tar*`, `data.tar*`), unpacked with
//!   `kiln_debian::unpack_deb` into a fresh directory;
//! - `1`: a `Packages` index (`parse_packages`);
//! - `2`: a `Release` text, as `InRelease` gives it once `gpgv` has checked the signature
//!   (`parse_release`; the signature check itself is `gpgv`'s, not kiln's);
//! - `3`: deb822 paragraphs, version strings and relation fields (`Version::parse`,
//!   `parse_relations`), line by line.
//!
//! The same body runs under cargo-fuzz (`tests/fuzz/fuzz_targets/deb.rs`) and as a bounded smoke
//! test in `cargo test` (`crates/kiln-cli/tests/fuzz_smoke.rs`).

use std::path::Path;

pub(crate) fn run(data: &[u8]) {
    let Some((&kind, input)) = data.split_first() else {
        return;
    };
    match kind % 4 {
        0 => unpack(input),
        1 => {
            if let Ok(text) = std::str::from_utf8(input) {
                if let Ok(packages) = kiln_debian::parse_packages(text, "fuzz") {
                    for package in packages {
                        // Whatever the index says, a pinned file name is a plain relative path.
                        assert!(!package.filename.starts_with('/'));
                        assert!(!package.filename.split('/').any(|c| c == ".."));
                    }
                }
            }
        }
        2 => {
            if let Ok(text) = std::str::from_utf8(input) {
                let _ = kiln_debian::parse_release(text, &"0".repeat(64), "fuzz");
            }
        }
        _ => {
            if let Ok(text) = std::str::from_utf8(input) {
                let _ = kiln_debian::deb822::parse(text, "fuzz");
                for line in text.lines() {
                    if let Ok(version) = kiln_debian::Version::parse(line) {
                        // Display and parse round-trip, and compare equal to themselves.
                        let again = kiln_debian::Version::parse(&version.to_string())
                            .expect("a printed version parses");
                        assert_eq!(again.cmp(&version), std::cmp::Ordering::Equal);
                    }
                    let _ = kiln_debian::parse_relations(line);
                }
            }
        }
    }
}

fn unpack(deb: &[u8]) {
    let dir = scratch_dir();
    let file = dir.path().join("fuzz.deb");
    std::fs::write(&file, deb).expect("write the input");
    let out = dir.path().join("out");
    let _ = kiln_debian::unpack_deb(&file, &out);
    // Nothing beside the input and the output directory: no entry escaped by `..`, an
    // absolute path or a symlink.
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .expect("list the scratch directory")
        .map(|e| {
            e.expect("an entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    names.sort();
    assert!(
        names == ["fuzz.deb"] || names == ["fuzz.deb", "out"],
        "unpacking wrote outside its directory: {names:?}"
    );
    make_removable(&out);
}

/// A scratch directory in memory when the machine has one.
fn scratch_dir() -> tempfile::TempDir {
    let shm = Path::new("/dev/shm");
    if shm.is_dir() {
        if let Ok(dir) = tempfile::tempdir_in(shm) {
            return dir;
        }
    }
    tempfile::tempdir().expect("a scratch directory")
}

/// Unpacked trees keep their modes, read-only directories included.
fn make_removable(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return;
    };
    if meta.is_dir() {
        let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755));
        if let Ok(items) = std::fs::read_dir(path) {
            for item in items.flatten() {
                make_removable(&item.path());
            }
        }
    }
}

#[allow(dead_code)] // used by the smoke test, not by cargo-fuzz
/// Seed inputs: a small well-formed `.deb` (a directory, a file, a symlink, a control file),
/// and texts in each of the other readers' formats. `kind` as in [`run`].
pub(crate) fn seeds() -> Vec<Vec<u8>> {
    let mut seeds = Vec::new();
    seeds.push([vec![0], small_deb()].concat());
    let packages = "Package: hello\nVersion: 2.10-3\nArchitecture: amd64\nDepends: libc6 (>= 2.34), foo | bar:any\nPre-Depends: dpkg (>= 1.15)\nProvides: greeting (= 1.0)\nFilename: pool/main/h/hello/hello_2.10-3_amd64.deb\nSize: 56132\nSHA256: 0000000000000000000000000000000000000000000000000000000000000001\nInstalled-Size: 280\nPriority: optional\n\nPackage: libc6\nVersion: 2.36-9+deb12u4\nArchitecture: amd64\nEssential: yes\nFilename: pool/main/g/glibc/libc6_2.36-9_amd64.deb\nSize: 2757936\nSHA256: 0000000000000000000000000000000000000000000000000000000000000002\n";
    seeds.push([b"\x01".as_slice(), packages.as_bytes()].concat());
    let release = "Origin: Debian\nSuite: stable\nCodename: bookworm\nDate: Sat, 10 Feb 2024 09:45:30 UTC\nArchitectures: amd64 arm64\nComponents: main contrib non-free-firmware\nSHA256:\n 0000000000000000000000000000000000000000000000000000000000000003 1234 main/binary-amd64/Packages\n 0000000000000000000000000000000000000000000000000000000000000004 345 main/binary-amd64/Packages.xz\n";
    seeds.push([b"\x02".as_slice(), release.as_bytes()].concat());
    let misc = "1:2.36-9+deb12u4~bpo1\n0.1\nlibc6 (>= 2.34) | libc6.1, dpkg:any (<< 1.20) [amd64] <!nocheck>\n7:\n";
    seeds.push([b"\x03".as_slice(), misc.as_bytes()].concat());
    seeds
}

fn small_deb() -> Vec<u8> {
    let tar_of = |items: &[(&str, &[u8], u32, Option<&str>)]| -> Vec<u8> {
        let mut builder = tar::Builder::new(Vec::new());
        for (path, data, mode, link) in items {
            let mut header = tar::Header::new_gnu();
            header.set_mode(*mode);
            header.set_mtime(0);
            if let Some(target) = link {
                header.set_entry_type(tar::EntryType::Symlink);
                header.set_size(0);
                builder
                    .append_link(&mut header, path, target)
                    .expect("a symlink entry");
            } else if path.ends_with('/') {
                header.set_entry_type(tar::EntryType::Directory);
                header.set_size(0);
                builder
                    .append_data(&mut header, path, std::io::empty())
                    .expect("a directory entry");
            } else {
                header.set_entry_type(tar::EntryType::Regular);
                header.set_size(data.len() as u64);
                builder
                    .append_data(&mut header, path, *data)
                    .expect("a file entry");
            }
        }
        builder.into_inner().expect("a tar archive")
    };
    let control = tar_of(&[(
        "./control",
        b"Package: fuzz\nVersion: 1.0\nArchitecture: amd64\n",
        0o644,
        None,
    )]);
    let data = tar_of(&[
        ("./usr/", b"", 0o755, None),
        ("./usr/bin/", b"", 0o755, None),
        ("./usr/bin/tool", b"#!/bin/sh\necho hi\n", 0o4755, None),
        ("./usr/bin/alias", b"", 0o777, Some("tool")),
    ]);
    let mut archive = ar::Builder::new(Vec::new());
    for (name, bytes) in [
        ("debian-binary", b"2.0\n".to_vec()),
        ("control.tar", control),
        ("data.tar", data),
    ] {
        archive
            .append(
                &ar::Header::new(name.as_bytes().to_vec(), bytes.len() as u64),
                bytes.as_slice(),
            )
            .expect("an ar member");
    }
    archive.into_inner().expect("an ar archive")
}
