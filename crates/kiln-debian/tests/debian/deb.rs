//! `.deb`s made in the test: unpacking (xz, zstd, gzip, plain), hostile archives refused,
//! and the fetch → unpack derivations realised through the store, tampering included.

use crate::common::{make_deb, Item};
use kiln_debian::{
    add_package, sha256_file, unpack_deb, FetchDeb, LockedPackage, UnpackDeb, Version, FETCH_DEB,
    UNPACK_DEB,
};
use kiln_store::{realise, Builder, Builders, Derivation, Events, Graph, RealiseOptions, Store};
use std::path::Path;
use std::sync::Mutex;

fn unpack_items(
    items: &[Item<'_>],
    compression: &str,
) -> (tempfile::TempDir, Result<(), kiln_debian::DebianError>) {
    let dir = tempfile::tempdir().unwrap();
    let deb = dir.path().join("test.deb");
    std::fs::write(&deb, make_deb(items, compression)).unwrap();
    let result = unpack_deb(&deb, &dir.path().join("out"));
    (dir, result)
}

const GOOD: &[Item<'static>] = &[
    Item::Dir("./"),
    Item::Dir("./usr/"),
    Item::Dir("./usr/bin/"),
    Item::File("./usr/bin/tool", b"#!/bin/sh\necho hi\n"),
    Item::File("./etc/deep/implicit/parent.conf", b"x=1\n"),
    Item::Symlink("./usr/bin/alias", "tool"),
    Item::Symlink("./lib64", "/usr/lib64"),
    Item::Symlink("./usr/share/up", "../bin/tool"),
    Item::HardLink("./usr/bin/tool2", "./usr/bin/tool"),
];

#[test]
fn unpacks_every_compression() {
    for compression in [".xz", ".zst", ".gz", ""] {
        let (dir, result) = unpack_items(GOOD, compression);
        result.unwrap_or_else(|e| panic!("{compression}: {e}"));
        let out = dir.path().join("out");
        assert_eq!(
            std::fs::read(out.join("usr/bin/tool")).unwrap(),
            b"#!/bin/sh\necho hi\n"
        );
        assert_eq!(
            std::fs::read(out.join("usr/bin/tool2")).unwrap(),
            b"#!/bin/sh\necho hi\n"
        );
        assert_eq!(
            std::fs::read_link(out.join("usr/bin/alias")).unwrap(),
            Path::new("tool")
        );
        assert_eq!(
            std::fs::read_link(out.join("lib64")).unwrap(),
            Path::new("/usr/lib64")
        );
        assert!(out.join("etc/deep/implicit/parent.conf").is_file());
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(out.join("usr/bin/tool"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o111, 0o111);
    }
}

/// What dpkg keeps of a package: the control area's files and a manifest of the data with the
/// modes (setuid included) and owners the store does not keep.
#[test]
fn control_area_and_manifest_are_kept_beside_the_tree() {
    let dir = tempfile::tempdir().unwrap();
    let deb = dir.path().join("tool.deb");
    let items = [
        Item::Dir("./"),
        Item::Dir("./usr/"),
        Item::Dir("./usr/bin/"),
        Item::Setuid("./usr/bin/tool", b"binary"),
        Item::Symlink("./usr/bin/alias", "tool"),
    ];
    let control: [(&str, u32, &[u8]); 3] = [
        ("control", 0o644, b"Package: tool\nVersion: 1.0\n"),
        ("postinst", 0o755, b"#!/bin/sh\nexit 0\n"),
        ("conffiles", 0o644, b"/etc/tool.conf\n"),
    ];
    std::fs::write(
        &deb,
        crate::common::make_deb_with_control(&items, &control, ".xz"),
    )
    .unwrap();
    let out = dir.path().join("out");
    unpack_deb(&deb, &out).unwrap();
    let kept = out.join(kiln_debian::CONTROL_DIR);
    let postinst = kept.join("control/postinst");
    assert_eq!(std::fs::read(&postinst).unwrap(), b"#!/bin/sh\nexit 0\n");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&postinst).unwrap().permissions().mode();
    assert_eq!(mode & 0o111, 0o111, "maintainer scripts stay executable");
    let manifest = std::fs::read_to_string(kept.join(kiln_debian::FILES_MANIFEST)).unwrap();
    assert_eq!(
        manifest,
        "d\t755\t0\t0\t-\t-\t/.\n\
         d\t755\t0\t0\t-\t-\t/usr\n\
         d\t755\t0\t0\t-\t-\t/usr/bin\n\
         f\t4755\t0\t42\t-\tshadow\t/usr/bin/tool\n\
         l\t777\t0\t0\t-\t-\t/usr/bin/alias\ttool\n"
    );
    // A data member may not use the name kiln keeps for the control area.
    assert_hostile(&[Item::File("./.kiln-deb/files", b"x")], "control area");
}

fn assert_hostile(items: &[Item<'_>], why: &str) {
    let (dir, result) = unpack_items(items, ".xz");
    let err = result.expect_err(why);
    assert_eq!(err.code_str(), "kiln::debian::hostile_deb", "{why}: {err}");
    // Nothing was written outside the output directory.
    let outside: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n != "test.deb" && n != "out")
        .collect();
    assert!(outside.is_empty(), "{why}: {outside:?}");
}

#[test]
fn hostile_archives_are_refused() {
    assert_hostile(&[Item::File("./../escape", b"x")], "dot-dot");
    assert_hostile(&[Item::File("./usr/../../escape", b"x")], "nested dot-dot");
    assert_hostile(
        &[Item::File("/tmp/kiln-absolute-test", b"x")],
        "absolute path",
    );
    assert_hostile(&[Item::Symlink("./link", "../../etc")], "symlink escaping");
    assert_hostile(
        &[Item::Symlink("./a/b/link", "../../../x")],
        "deep symlink escaping",
    );
    assert_hostile(
        &[
            Item::Symlink("./sneaky", "/"),
            Item::File("./sneaky/tmp/x", b"x"),
        ],
        "write through a symlink",
    );
    assert_hostile(
        &[Item::Symlink("./up", ".."), Item::File("./up/escape", b"x")],
        "write through an escaping symlink",
    );
    assert_hostile(
        &[Item::HardLink("./h", "../../etc/passwd")],
        "hard link escaping",
    );
    assert_hostile(
        &[Item::HardLink("./h", "/etc/passwd")],
        "absolute hard link",
    );
    assert_hostile(
        &[Item::HardLink("./h", "./missing")],
        "hard link to nothing",
    );
    assert_hostile(&[Item::Device("./dev/sda")], "device node");
    assert_hostile(&[Item::Fifo("./fifo")], "fifo");
}

#[test]
fn malformed_debs_are_bad_deb() {
    let dir = tempfile::tempdir().unwrap();
    let deb = dir.path().join("x.deb");
    std::fs::write(&deb, b"this is not an ar archive").unwrap();
    let err = unpack_deb(&deb, &dir.path().join("out")).unwrap_err();
    assert_eq!(err.code_str(), "kiln::debian::bad_deb");
    let mut ar = ar::Builder::new(Vec::new());
    ar.append(
        &ar::Header::new(b"debian-binary".to_vec(), 4),
        &b"2.0\n"[..],
    )
    .unwrap();
    std::fs::write(&deb, ar.into_inner().unwrap()).unwrap();
    let err = unpack_deb(&deb, &dir.path().join("out")).unwrap_err();
    assert_eq!(err.code_str(), "kiln::debian::bad_deb");
    assert!(err.to_string().contains("no `data.tar`"), "{err}");
}

/// Records progress reports.
#[derive(Default)]
struct Recorder(Mutex<Vec<(String, u64, Option<u64>)>>);
impl Events for Recorder {
    fn progress(&self, drv: &Derivation, done: u64, total: Option<u64>) {
        self.0.lock().unwrap().push((drv.name.clone(), done, total));
    }
}

fn locked(name: &str, filename: &str, deb: &Path) -> LockedPackage {
    LockedPackage {
        name: name.into(),
        version: Version::parse("1:1.0~rc1-1").unwrap(),
        architecture: "amd64".into(),
        filename: filename.into(),
        size: std::fs::metadata(deb).unwrap().len(),
        sha256: sha256_file(deb).unwrap(),
        depends: Vec::new(),
        installed_size: None,
    }
}

#[test]
fn fetch_and_unpack_through_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let mirror = dir.path().join("mirror");
    let pool = mirror.join("pool/main/t/tool");
    std::fs::create_dir_all(&pool).unwrap();
    let deb = pool.join("tool_1.0~rc1-1_amd64.deb");
    std::fs::write(&deb, make_deb(GOOD, ".xz")).unwrap();
    let package = locked("tool", "pool/main/t/tool/tool_1.0~rc1-1_amd64.deb", &deb);
    let store = Store::open(dir.path().join("store")).unwrap();
    let mut graph = Graph::new();
    let tree = add_package(
        &mut graph,
        &store,
        &package,
        &format!("file://{}", mirror.display()),
    )
    .unwrap();
    let (fetch, unpack) = (FetchDeb::default(), UnpackDeb);
    let builders: Builders = [
        (FETCH_DEB, &fetch as &dyn Builder),
        (UNPACK_DEB, &unpack as &dyn Builder),
    ]
    .into_iter()
    .collect();
    let events = Recorder::default();
    let paths = realise(
        &store,
        &graph,
        &[tree],
        &builders,
        &RealiseOptions::default(),
        &events,
    )
    .unwrap();
    assert!(paths[&tree].join("usr/bin/tool").is_file());
    let entry = store.entry_of(&paths[&tree]).unwrap();
    assert_eq!(entry.name(), "tool-1_1.0_rc1-1");
    let progress = events.0.lock().unwrap();
    let last = progress.last().unwrap();
    assert_eq!(last.0, "tool_1.0_rc1-1_amd64.deb");
    assert_eq!((last.1, last.2), (package.size, Some(package.size)));
    drop(progress);
    // A second realisation is a no-op, even with the mirror gone.
    std::fs::remove_dir_all(&mirror).unwrap();
    let again = realise(
        &store,
        &graph,
        &[tree],
        &builders,
        &RealiseOptions::default(),
        &Recorder::default(),
    )
    .unwrap();
    assert_eq!(again[&tree], paths[&tree]);
    assert!(store.verify(false).unwrap().damage.is_empty());
}

#[test]
fn tampered_deb_is_rejected_and_nothing_registered() {
    let dir = tempfile::tempdir().unwrap();
    let mirror = dir.path().join("mirror");
    std::fs::create_dir_all(&mirror).unwrap();
    let deb = mirror.join("tool.deb");
    std::fs::write(&deb, make_deb(GOOD, ".xz")).unwrap();
    let package = locked("tool", "tool.deb", &deb);
    // The mirror now serves different bytes of the same size.
    let mut bytes = std::fs::read(&deb).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&deb, bytes).unwrap();
    let store = Store::open(dir.path().join("store")).unwrap();
    let err =
        crate::common::realise_package(&store, &package, &format!("file://{}", mirror.display()))
            .unwrap_err();
    let message = crate::common::error_text(&err);
    assert!(message.contains("expected sha256:"), "{message}");
    assert!(message.contains("tool.deb"), "{message}");
    assert!(store.list().unwrap().is_empty());
    let visible = std::fs::read_dir(store.root())
        .unwrap()
        .filter(|e| {
            !e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with('.')
        })
        .count();
    assert_eq!(visible, 0);
}

#[test]
fn hostile_deb_through_the_store_registers_nothing_for_it() {
    let dir = tempfile::tempdir().unwrap();
    let mirror = dir.path().join("mirror");
    std::fs::create_dir_all(&mirror).unwrap();
    let deb = mirror.join("evil.deb");
    std::fs::write(
        &deb,
        make_deb(&[Item::Symlink("./x", "../../../etc")], ".zst"),
    )
    .unwrap();
    let package = locked("evil", "evil.deb", &deb);
    let store = Store::open(dir.path().join("store")).unwrap();
    let err =
        crate::common::realise_package(&store, &package, &format!("file://{}", mirror.display()))
            .unwrap_err();
    let message = crate::common::error_text(&err);
    assert!(message.contains("escapes the tree"), "{message}");
    // Only the (verified) download is registered, not the tree.
    let names: Vec<String> = store
        .list()
        .unwrap()
        .iter()
        .map(|e| e.entry.name().to_string())
        .collect();
    assert_eq!(names, ["evil.deb"]);
}
