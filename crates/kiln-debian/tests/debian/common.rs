//! Shared helpers: fixture paths, the fixture index, `.deb`s built in memory, and realising
//! one locked package through the store.

use kiln_debian::{
    add_package, parse_packages, parse_release, ArchiveOptions, FetchDeb, Index, LockedPackage,
    UnpackDeb, FETCH_DEB, UNPACK_DEB,
};
use kiln_store::{realise, Builder, Builders, Graph, Quiet, RealiseOptions, Store, StoreError};
use std::path::PathBuf;

pub(crate) fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// Options for the fixture archive, served from `file://` and signed by the test key.
pub(crate) fn fixture_options(archive: &std::path::Path) -> ArchiveOptions {
    ArchiveOptions {
        mirror: format!("file://{}", archive.display()),
        suite: "bookworm".into(),
        components: vec!["main".into(), "contrib".into(), "non-free-firmware".into()],
        architecture: "amd64".into(),
        keyring: fixtures().join("archive/test-keyring.gpg"),
        offline: false,
    }
}

/// The fixture `Packages` (main and contrib) as an index, without any trust checks.
pub(crate) fn fixture_index() -> Index {
    let mut all = Vec::new();
    for component in ["main", "contrib"] {
        let path = fixtures().join(format!("packages-{component}.txt"));
        let text = std::fs::read_to_string(&path).unwrap();
        all.extend(parse_packages(&text, component).unwrap());
    }
    let release = parse_release(
        "Suite: stable\nCodename: bookworm\nSHA256:\n",
        &"ab".repeat(32),
        "test",
    )
    .unwrap();
    Index::from_packages(release, &fixture_options(&fixtures().join("archive")), all)
}

pub(crate) fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

/// One entry of a test `data.tar`.
pub(crate) enum Item<'a> {
    Dir(&'a str),
    File(&'a str, &'a [u8]),
    Symlink(&'a str, &'a str),
    HardLink(&'a str, &'a str),
    Device(&'a str),
    Fifo(&'a str),
    /// A setuid file of group `shadow` (42).
    Setuid(&'a str, &'a [u8]),
}

/// A `.deb` whose `data.tar.<compression>` holds `items`, written with the tar and ar crates.
/// Paths are written raw (no sanitising), so tests can make hostile archives.
pub(crate) fn make_deb(items: &[Item<'_>], compression: &str) -> Vec<u8> {
    make_deb_with_control(items, &[], compression)
}

/// [`make_deb`] with a control area: `(name, mode, bytes)` files in `control.tar.xz`.
pub(crate) fn make_deb_with_control(
    items: &[Item<'_>],
    control: &[(&str, u32, &[u8])],
    compression: &str,
) -> Vec<u8> {
    let mut control_tar = tar::Builder::new(Vec::new());
    for (name, mode, bytes) in control {
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(tar::EntryType::Regular);
        header.set_mode(*mode);
        header.set_size(bytes.len() as u64);
        header.set_path(format!("./{name}")).unwrap();
        header.set_cksum();
        control_tar.append(&header, *bytes).unwrap();
    }
    let control_tar = control_tar.into_inner().unwrap();
    let mut tar = tar::Builder::new(Vec::new());
    for item in items {
        let mut header = tar::Header::new_gnu();
        let (path, data): (&str, &[u8]) = match item {
            Item::Dir(p) => {
                header.set_entry_type(tar::EntryType::Directory);
                header.set_mode(0o755);
                (p, b"")
            }
            Item::File(p, data) => {
                header.set_entry_type(tar::EntryType::Regular);
                header.set_mode(0o755);
                (p, data)
            }
            Item::Setuid(p, data) => {
                header.set_entry_type(tar::EntryType::Regular);
                header.set_mode(0o4755);
                header.set_gid(42);
                header.set_groupname("shadow").unwrap();
                (p, data)
            }
            Item::Symlink(p, target) | Item::HardLink(p, target) => {
                header.set_entry_type(if matches!(item, Item::Symlink(..)) {
                    tar::EntryType::Symlink
                } else {
                    tar::EntryType::Link
                });
                header.set_mode(0o777);
                set_raw(&mut header.as_old_mut().linkname, target);
                (p, b"")
            }
            Item::Device(p) => {
                header.set_entry_type(tar::EntryType::Char);
                header.set_mode(0o600);
                (p, b"")
            }
            Item::Fifo(p) => {
                header.set_entry_type(tar::EntryType::Fifo);
                header.set_mode(0o600);
                (p, b"")
            }
        };
        set_raw(&mut header.as_old_mut().name, path);
        header.set_size(data.len() as u64);
        header.set_cksum();
        tar.append(&header, data).unwrap();
    }
    let data_tar = tar.into_inner().unwrap();
    let compressed = compress(&data_tar, compression);
    let mut ar = ar::Builder::new(Vec::new());
    let mut add = |name: &str, bytes: &[u8]| {
        let header = ar::Header::new(name.as_bytes().to_vec(), bytes.len() as u64);
        ar.append(&header, bytes).unwrap();
    };
    add("debian-binary", b"2.0\n");
    add("control.tar.xz", &compress(&control_tar, "xz"));
    add(&format!("data.tar{compression}"), &compressed);
    ar.into_inner().unwrap()
}

fn set_raw(field: &mut [u8], value: &str) {
    field.fill(0);
    field[..value.len()].copy_from_slice(value.as_bytes());
}

fn compress(bytes: &[u8], compression: &str) -> Vec<u8> {
    use std::io::Write;
    match compression {
        "" => bytes.to_vec(),
        ".xz" | "xz" => {
            let mut enc = liblzma::write::XzEncoder::new(Vec::new(), 1);
            enc.write_all(bytes).unwrap();
            enc.finish().unwrap()
        }
        ".gz" => {
            let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            enc.write_all(bytes).unwrap();
            enc.finish().unwrap()
        }
        ".zst" => zstd::stream::encode_all(bytes, 1).unwrap(),
        other => panic!("unknown compression {other}"),
    }
}

/// Fetches and unpacks `package` from `mirror` into `store` with the crate's own builders, as
/// the driver will; returns the unpacked tree.
pub(crate) fn realise_package(
    store: &Store,
    package: &LockedPackage,
    mirror: &str,
) -> Result<PathBuf, StoreError> {
    let mut graph = Graph::new();
    let tree = add_package(&mut graph, store, package, mirror)?;
    let (fetch, unpack) = (FetchDeb::default(), UnpackDeb);
    let builders: Builders = [
        (FETCH_DEB, &fetch as &dyn Builder),
        (UNPACK_DEB, &unpack as &dyn Builder),
    ]
    .into_iter()
    .collect();
    realise(
        store,
        &graph,
        &[tree],
        &builders,
        &RealiseOptions::default(),
        &Quiet,
    )
    .map(|mut paths| paths.remove(&tree).expect("realise returns every target"))
}

/// An error and every error under it, as one line (a build failure keeps its builder's error
/// as its source).
pub(crate) fn error_text(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(inner) = source {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        source = inner.source();
    }
    text
}
