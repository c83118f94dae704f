//! Behaviour of the store and the scheduler through the public API: registration is atomic
//! and idempotent, `verify` finds and repairs damage, `gc` keeps exactly what roots reach,
//! and `realise` respects dependencies, runs independent steps in parallel and skips what is built.

use kiln_store::{
    hash_tree, realise, BuildError, Builder, Builders, Derivation, Digest, Events, Graph, Quiet,
    RealiseOptions, Store, StoreError,
};
use proptest::prelude::*;

#[path = "store/faults.rs"]
mod faults;
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

fn store() -> (kiln_testkit::TempDir, Store) {
    let dir = kiln_testkit::tempdir().unwrap();
    let store = Store::open(dir.path().join("store")).unwrap();
    (dir, store)
}

fn write_file(contents: &'static str) -> impl FnOnce(&Path) -> Result<(), BuildError> {
    move |out| fs::write(out, contents).map_err(|e| BuildError::message(e.to_string()))
}

#[test]
fn add_registers_once_and_is_read_only() {
    let (_dir, store) = store();
    let key = Digest::of(b"k");
    let entry = store
        .add(&key, "a.txt", &[], None, write_file("one"))
        .unwrap();
    assert!(store.contains(&entry));
    assert_eq!(fs::read_to_string(store.path(&entry)).unwrap(), "one");
    assert!(fs::metadata(store.path(&entry))
        .unwrap()
        .permissions()
        .readonly());
    // A second add of the same key does not rebuild.
    let again = store
        .add(&key, "a.txt", &[], None, |_| {
            Err(BuildError::message("must not run"))
        })
        .unwrap();
    assert_eq!(entry, again);
    let info = store.info(&entry).unwrap().unwrap();
    assert_eq!(info.content, hash_tree(&store.path(&entry)).unwrap());

    // A directory entry is sealed too, its top included (which stays writable for the move
    // into place only: without root, moving a directory needs write permission on it).
    let tree = store
        .add(&Digest::of(b"t"), "tree", &[], None, |tmp: &Path| {
            fs::create_dir_all(tmp.join("sub"))
                .and_then(|()| fs::write(tmp.join("sub/f"), "x"))
                .map_err(|e| BuildError::message(e.to_string()))
        })
        .unwrap();
    for rel in ["", "sub", "sub/f"] {
        let meta = fs::metadata(store.path(&tree).join(rel)).unwrap();
        assert!(meta.permissions().readonly(), "{rel:?}");
    }
    // The hash (which covers modes) was taken sealed, and the top was sealed again after.
    let info = store.info(&tree).unwrap().unwrap();
    assert_eq!(info.content, hash_tree(&store.path(&tree)).unwrap());
}

#[test]
fn failed_build_leaves_nothing() {
    let (_dir, store) = store();
    let err = store
        .add(&Digest::of(b"k"), "x", &[], None, |out| {
            fs::create_dir(out).unwrap();
            fs::write(out.join("half"), "written").unwrap();
            Err(BuildError::message("compiler exploded"))
        })
        .unwrap_err();
    assert!(matches!(err, StoreError::BuildFailed { .. }), "{err}");
    assert!(store.list().unwrap().is_empty());
    // What the build wrote went with it; the process's temporary directory goes with the
    // store handle, and the entry's lock file with the lock.
    let root = store.root().to_path_buf();
    drop(store);
    for dir in [".tmp", ".locks/procs", ".locks/entries"] {
        assert_eq!(fs::read_dir(root.join(dir)).unwrap().count(), 0, "{dir}");
    }
    let visible: Vec<_> = fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| !n.starts_with('.'))
        .collect();
    assert!(visible.is_empty(), "{visible:?}");
}

#[test]
fn fixed_output_checks_content() {
    let (_dir, store) = store();
    let tmp = kiln_testkit::tempdir().unwrap();
    fs::write(tmp.path().join("f"), "right").unwrap();
    let right = hash_tree(&tmp.path().join("f")).unwrap();
    let err = store
        .add(&right, "f", &[], Some(&right), write_file("wrong"))
        .unwrap_err();
    assert!(matches!(err, StoreError::HashMismatch { .. }), "{err}");
    store
        .add(&right, "f", &[], Some(&right), write_file("right"))
        .unwrap();
}

#[test]
fn invalid_names_are_refused() {
    let (_dir, store) = store();
    for name in ["", ".hidden", "a/b", "spaces here", &"x".repeat(201)] {
        let err = store
            .add(&Digest::of(b"k"), name, &[], None, write_file(""))
            .unwrap_err();
        assert!(
            matches!(err, StoreError::InvalidName { .. }),
            "{name}: {err}"
        );
    }
}

#[test]
fn verify_finds_and_repairs_damage() {
    let (_dir, store) = store();
    let good = store
        .add(&Digest::of(b"1"), "good", &[], None, write_file("fine"))
        .unwrap();
    let bad = store
        .add(&Digest::of(b"2"), "bad", &[], None, |out| {
            fs::create_dir(out).map_err(|e| BuildError::message(e.to_string()))?;
            fs::write(out.join("file"), "original").map_err(|e| BuildError::message(e.to_string()))
        })
        .unwrap();
    assert!(store.verify(false).unwrap().damage.is_empty());
    let file = store.path(&bad).join("file");
    let mut perms = fs::metadata(&file).unwrap().permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    perms.set_readonly(false);
    fs::set_permissions(&file, perms).unwrap();
    fs::write(&file, "tampered").unwrap();
    let damage = store.verify(false).unwrap().damage;
    assert_eq!(damage.len(), 1);
    assert_eq!(damage[0].entry, bad);
    assert!(!damage[0].removed);
    let damage = store.verify(true).unwrap().damage;
    assert!(damage[0].removed);
    assert!(!store.contains(&bad));
    assert!(store.contains(&good));
}

#[test]
fn gc_keeps_what_roots_reach() {
    let (dir, store) = store();
    let dep = store
        .add(&Digest::of(b"dep"), "dep", &[], None, write_file("d"))
        .unwrap();
    let top = store
        .add(
            &Digest::of(b"top"),
            "top",
            std::slice::from_ref(&dep),
            None,
            write_file("t"),
        )
        .unwrap();
    let junk = store
        .add(&Digest::of(b"junk"), "junk", &[], None, write_file("j"))
        .unwrap();
    let link = dir.path().join("result");
    std::os::unix::fs::symlink(store.path(&top), &link).unwrap();
    store.add_root(&link).unwrap();
    // What a running kiln added is a temporary root of it until it ends: a collection in the
    // meantime keeps `junk`.
    let report = Store::open(store.root()).unwrap().gc().unwrap();
    assert!(report.removed.is_empty(), "{report:?}");
    let store = {
        let root = store.root().to_path_buf();
        drop(store);
        Store::open(root).unwrap()
    };
    let report = store.gc().unwrap();
    assert_eq!(report.removed, vec![junk.clone()]);
    assert!(store.contains(&top) && store.contains(&dep) && !store.contains(&junk));
    assert!(!store.path(&junk).exists());
    // Once the result link goes, so does its root.
    fs::remove_file(&link).unwrap();
    let report = store.gc().unwrap();
    assert_eq!(report.removed.len(), 2);
    assert!(store.list().unwrap().is_empty());
}

/// Writes its args joined, after its inputs' contents; records the order steps ran in.
struct Concat {
    log: Mutex<Vec<String>>,
    running: AtomicUsize,
    max_running: AtomicUsize,
}

impl Builder for Concat {
    fn check(&self, _: &Derivation, _: &[PathBuf]) -> Result<(), BuildError> {
        Ok(())
    }

    fn build(
        &self,
        drv: &Derivation,
        inputs: &[PathBuf],
        out: &Path,
        _: &dyn Events,
    ) -> Result<(), BuildError> {
        let now = self.running.fetch_add(1, Ordering::SeqCst) + 1;
        self.max_running.fetch_max(now, Ordering::SeqCst);
        std::thread::sleep(Duration::from_millis(30));
        let mut text = String::new();
        for input in inputs {
            text.push_str(
                &fs::read_to_string(input).map_err(|e| BuildError::message(e.to_string()))?,
            );
        }
        text.push_str(&drv.args.concat());
        self.log.lock().unwrap().push(drv.name.clone());
        self.running.fetch_sub(1, Ordering::SeqCst);
        if drv.args.iter().any(|a| a == "fail") {
            return Err(BuildError::message("asked to fail"));
        }
        fs::write(out, text).map_err(|e| BuildError::message(e.to_string()))
    }
}

fn concat() -> Concat {
    Concat {
        log: Mutex::new(Vec::new()),
        running: AtomicUsize::new(0),
        max_running: AtomicUsize::new(0),
    }
}

fn drv(name: &str, arg: &str, inputs: &[kiln_store::DrvId]) -> Derivation {
    let mut d = Derivation::new(name, "concat");
    d.args.push(arg.into());
    d.inputs = inputs.to_vec();
    d
}

#[test]
fn realise_builds_in_dependency_order_and_in_parallel() {
    let (_dir, store) = store();
    let mut graph = Graph::new();
    let leaves: Vec<_> = (0..4)
        .map(|i| graph.add(drv(&format!("leaf{i}"), &i.to_string(), &[])))
        .collect();
    let top = graph.add(drv("top", "!", &leaves));
    let builder = concat();
    let builders: Builders = [("concat", &builder as &dyn Builder)].into_iter().collect();
    let options = RealiseOptions {
        jobs: 4,
        ..RealiseOptions::default()
    };
    let paths = realise(&store, &graph, &[top], &builders, &options, &Quiet).unwrap();
    assert_eq!(fs::read_to_string(&paths[&top]).unwrap(), "0123!");
    let log = builder.log.lock().unwrap().clone();
    assert_eq!(log.last().map(String::as_str), Some("top"));
    assert!(
        builder.max_running.load(Ordering::SeqCst) > 1,
        "independent leaves ran one at a time"
    );
    // Everything is in the store now: nothing runs again, and offline works.
    let again = concat();
    let builders: Builders = [("concat", &again as &dyn Builder)].into_iter().collect();
    let offline = RealiseOptions {
        jobs: 1,
        offline: true,
        ..RealiseOptions::default()
    };
    realise(&store, &graph, &[top], &builders, &offline, &Quiet).unwrap();
    assert!(again.log.lock().unwrap().is_empty());
}

/// Substitutes the entries it was told to, and counts what it was asked.
#[derive(Debug)]
struct FakeCache {
    has: Vec<String>,
    prepared: Mutex<Vec<String>>,
}

impl kiln_store::Substituter for FakeCache {
    fn prepare(&self, wanted: &[kiln_store::EntryName]) {
        let mut prepared = self.prepared.lock().unwrap();
        prepared.extend(wanted.iter().map(|e| e.name().to_string()));
    }

    fn substitute(
        &self,
        drv: &Derivation,
        entry: &kiln_store::EntryName,
        out: &Path,
        _events: &dyn Events,
    ) -> bool {
        assert_eq!(entry.name(), drv.name);
        if !self.has.contains(&drv.name) {
            return false;
        }
        fs::write(out, format!("cached {}", drv.name)).unwrap();
        true
    }
}

#[test]
fn a_substituter_fills_the_steps_it_has_and_the_rest_are_built() {
    let (_dir, store) = store();
    let mut graph = Graph::new();
    let leaf = graph.add(drv("leaf", "1", &[]));
    let mid = graph.add(drv("mid", "2", &[leaf]));
    let top = graph.add(drv("top", "3", &[mid]));
    let builder = concat();
    let builders: Builders = [("concat", &builder as &dyn Builder)].into_iter().collect();
    let cache = std::sync::Arc::new(FakeCache {
        has: vec!["leaf".into(), "top".into()],
        prepared: Mutex::new(Vec::new()),
    });
    let options = RealiseOptions {
        jobs: 2,
        substituter: Some(cache.clone()),
        ..RealiseOptions::default()
    };
    let paths = realise(&store, &graph, &[top], &builders, &options, &Quiet).unwrap();
    // Every missing step was announced up front, in dependency order.
    assert_eq!(*cache.prepared.lock().unwrap(), ["leaf", "mid", "top"]);
    // `mid` was built from the substituted `leaf`; `top` came from the cache.
    assert_eq!(*builder.log.lock().unwrap(), ["mid"]);
    assert_eq!(fs::read_to_string(&paths[&mid]).unwrap(), "cached leaf2");
    assert_eq!(fs::read_to_string(&paths[&top]).unwrap(), "cached top");
    // Substituted entries are registered and verify like built ones.
    let report = store.verify(false).unwrap();
    assert_eq!((report.checked, report.damage.len()), (3, 0));
}

#[test]
fn offline_names_the_missing_downloads_and_builds_the_rest() {
    let (_dir, store) = store();
    let mut graph = Graph::new();
    // A local step builds offline.
    let local = graph.add(drv("local", "1", &[]));
    let builder = concat();
    let builders: Builders = [("concat", &builder as &dyn Builder)].into_iter().collect();
    let offline = RealiseOptions {
        jobs: 1,
        offline: true,
        ..RealiseOptions::default()
    };
    realise(&store, &graph, &[local], &builders, &offline, &Quiet).unwrap();
    // A missing fixed-output one (a download) is named, and nothing runs.
    let mut fetch = drv("a", "1", &[]);
    fetch.fixed_output = Some("sha256:00".into());
    let a = graph.add(fetch);
    let after = graph.add(drv("after", "2", &[a]));
    let err = realise(&store, &graph, &[after], &builders, &offline, &Quiet).unwrap_err();
    match err {
        StoreError::OfflineMissing { missing } => {
            assert_eq!(missing.len(), 1, "{missing:?}");
            assert!(missing[0].ends_with("-a"), "{missing:?}")
        }
        other => panic!("{other}"),
    }
}

#[test]
fn a_failure_stops_dependents_and_is_reported() {
    let (_dir, store) = store();
    let mut graph = Graph::new();
    let bad = graph.add(drv("bad", "fail", &[]));
    let top = graph.add(drv("top", "x", &[bad]));
    let builder = concat();
    let builders: Builders = [("concat", &builder as &dyn Builder)].into_iter().collect();
    let err = realise(
        &store,
        &graph,
        &[top],
        &builders,
        &RealiseOptions::default(),
        &Quiet,
    )
    .unwrap_err();
    assert!(
        matches!(err, StoreError::BuildFailed { ref name, .. } if name == "bad"),
        "{err}"
    );
    assert_eq!(*builder.log.lock().unwrap(), vec!["bad".to_string()]);
}

#[test]
fn unknown_builder_and_missing_input_are_errors() {
    let (_dir, store) = store();
    let mut graph = Graph::new();
    let orphan_input = drv("not-in-graph", "", &[]).id();
    let a = graph.add(drv("a", "", &[orphan_input]));
    let builders: Builders = BTreeMap::new();
    let err = realise(
        &store,
        &graph,
        &[a],
        &builders,
        &RealiseOptions::default(),
        &Quiet,
    )
    .unwrap_err();
    assert!(matches!(err, StoreError::MissingInput { .. }), "{err}");
    let mut graph = Graph::new();
    let b = graph.add(drv("b", "", &[]));
    let err = realise(
        &store,
        &graph,
        &[b],
        &builders,
        &RealiseOptions::default(),
        &Quiet,
    )
    .unwrap_err();
    assert!(matches!(err, StoreError::UnknownBuilder { .. }), "{err}");
}

fn build_tree(root: &Path, files: &BTreeMap<String, (Vec<u8>, bool)>) {
    use std::os::unix::fs::PermissionsExt;
    fs::create_dir_all(root).unwrap();
    for (name, (bytes, exec)) in files {
        let path = root.join(name);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, bytes).unwrap();
        let mode = if *exec { 0o755 } else { 0o644 };
        fs::set_permissions(&path, fs::Permissions::from_mode(mode)).unwrap();
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// put → get is the identity, and the content hash depends only on the tree.
    #[test]
    fn put_get_identity(files in proptest::collection::btree_map("[a-z]{1,6}(/[a-z]{1,6})?", (proptest::collection::vec(any::<u8>(), 0..64), any::<bool>()), 1..8)) {
        // A name cannot be both a file and a directory.
        let files: BTreeMap<String, (Vec<u8>, bool)> = files
            .iter()
            .filter(|(name, _)| !files.keys().any(|other| other.starts_with(&format!("{name}/"))))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let (dir, store) = store();
        let src = dir.path().join("src");
        build_tree(&src, &files);
        let copy = dir.path().join("copy");
        build_tree(&copy, &files);
        prop_assert_eq!(hash_tree(&src).unwrap(), hash_tree(&copy).unwrap());
        let entry = store.add(&Digest::of(b"tree"), "tree", &[], None, |out| {
            build_tree(out, &files);
            Ok(())
        }).unwrap();
        for (name, (bytes, _)) in &files {
            prop_assert_eq!(&fs::read(store.path(&entry).join(name)).unwrap(), bytes);
        }
        prop_assert_eq!(store.info(&entry).unwrap().unwrap().content, hash_tree(&src).unwrap());
    }
}
