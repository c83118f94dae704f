//! `kiln.lock`: text round trip, missing names, `--locked`, adding and updating pins.

use crate::common::{fixture_index, names};
use kiln_debian::{Lock, Version};

#[test]
fn round_trip_is_stable() {
    let index = fixture_index();
    let lock = Lock::resolve(&index, &names(&["app", "tool"])).unwrap();
    let text = lock.to_text();
    let parsed = Lock::parse(&text, "kiln.lock").unwrap();
    assert_eq!(parsed, lock);
    assert_eq!(parsed.to_text(), text);
    // Sorted, one field per line.
    let names_in_order: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("name = "))
        .collect();
    let mut sorted = names_in_order.clone();
    sorted.sort();
    assert_eq!(names_in_order, sorted);
    assert!(text.contains("\n[[package]]\nname = app\nversion = 1.0-1\narchitecture = all\n"));
    assert!(text.contains("components = main contrib non-free-firmware\n"));
    assert!(text.contains(&format!("release = sha256:{}\n", "ab".repeat(32))));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kiln.lock");
    assert_eq!(Lock::read(&path).unwrap(), None);
    lock.write(&path).unwrap();
    assert_eq!(Lock::read(&path).unwrap(), Some(lock));
}

#[test]
fn missing_require_add() {
    let index = fixture_index();
    let mut lock = Lock::resolve(&index, &names(&["app"])).unwrap();
    // libc6 is pinned as a dependency: not missing.
    assert_eq!(
        lock.missing(&names(&["libc6", "tool", "app", "tool"])),
        names(&["tool"])
    );
    let err = lock.require(&names(&["tool", "old-user"])).unwrap_err();
    assert_eq!(err.code_str(), "kiln::debian::lock_missing");
    assert_eq!(
        err.to_string(),
        "kiln.lock lacks 2 packages: old-user, tool"
    );
    assert!(lock.require(&names(&["app", "libc6"])).is_ok());
    let before = lock.packages.clone();
    let changes = lock.add(&index, &names(&["old-user"])).unwrap();
    let added: Vec<&str> = changes.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(added, ["old-user", "tool"]);
    assert!(changes.iter().all(|c| c.old.is_none()));
    for (name, pin) in before {
        assert_eq!(lock.packages[&name], pin, "{name} was re-pinned");
    }
    assert!(lock.requests.contains("old-user"));
}

/// A recorded package set (`set-required`) survives pinning more names from the same release;
/// a lock moved to another release drops it, to be recomputed from that release.
#[test]
fn sets_survive_adding_from_the_same_release() {
    let index = fixture_index();
    let mut lock = Lock::resolve(&index, &names(&["app"])).unwrap();
    lock.sets.insert("required".into(), names(&["libc6"]));
    lock.add(&index, &names(&["tool"])).unwrap();
    assert_eq!(lock.sets.get("required"), Some(&names(&["libc6"])));
    lock.release = "cd".repeat(32);
    lock.add(&index, &names(&["gawk"])).unwrap();
    assert!(lock.sets.is_empty(), "{:?}", lock.sets);
}

#[test]
fn add_keeps_pins_and_update_moves_them() {
    let index = fixture_index();
    let mut lock = Lock::resolve(&index, &names(&["old-user"])).unwrap();
    assert_eq!(lock.packages["tool"].version.to_string(), "1.0-1");
    // Asking for `tool` itself keeps the pinned 1.0-1 rather than the newest 2.0-1.
    let changes = lock.add(&index, &names(&["tool"])).unwrap();
    assert!(changes.is_empty(), "{changes:?}");
    // Pretend an older pin: update brings it to the index's current version.
    let mut lock = Lock::resolve(&index, &names(&["gawk"])).unwrap();
    lock.packages.get_mut("gawk").unwrap().version = Version::parse("1:5.1.0-1").unwrap();
    let changes = lock.update(&index).unwrap();
    assert_eq!(changes.len(), 1);
    assert_eq!(changes[0].old.as_deref(), Some("1:5.1.0-1"));
    assert_eq!(changes[0].new.as_deref(), Some("1:5.2.1-2"));
}

#[test]
fn bad_lockfiles_are_errors() {
    let index = fixture_index();
    let good = Lock::resolve(&index, &names(&["tool"])).unwrap().to_text();
    let cases = [
        good.replace("lock-version = 1", "lock-version = 9"),
        good.replace("lock-version = 1\n", ""),
        good.replace("size = ", "size = x"),
        good.replace("sha256 = ", "sha256 = zz"),
        good.replace("filename = pool", "filename = ../pool"),
        good.replace("version = 2.0-1", "version = not valid"),
        good.replace("name = tool", "name = tool\nname = tool"),
        format!("{good}\n[[package]]\nname = tool\n"),
        good.replace("suite = bookworm", "suite bookworm"),
        good.replace("architecture = amd64\nfilename", "colour = blue\nfilename"),
        format!("{good}\n{}", &good[good.find("[[package]]").unwrap()..]),
    ];
    for (idx, text) in cases.iter().enumerate() {
        let err = Lock::parse(text, "kiln.lock").unwrap_err();
        assert_eq!(
            err.code_str(),
            "kiln::debian::bad_lock",
            "case {idx}: {text}"
        );
    }
}

/// The lock keeps each package's dependency edges (the alternative the closure chose, a virtual
/// name's provider) and installed size, so closures need no index.
#[test]
fn edges_and_closures_come_from_the_lock_alone() {
    let index = fixture_index();
    let lock = Lock::resolve(&index, &names(&["app", "tool"])).unwrap();
    let app = &lock.packages["app"];
    assert_eq!(app.installed_size, Some(100));
    assert!(
        app.depends.contains(&"libc6".to_string()),
        "{:?}",
        app.depends
    );
    assert!(
        app.depends.windows(2).all(|w| w[0] < w[1]),
        "sorted: {:?}",
        app.depends
    );
    // libc6 and libgcc-s1 depend on each other: the cycle is fine.
    assert!(lock.packages["libgcc-s1"]
        .depends
        .contains(&"libc6".to_string()));
    let closure = lock.closure(&names(&["app"])).unwrap();
    for name in &app.depends {
        assert!(closure.contains(name), "{name} missing from {closure:?}");
    }
    assert!(
        closure.contains(&"libgcc-s1".to_string()),
        "transitive: {closure:?}"
    );
    assert!(
        !closure.contains(&"tool".to_string()),
        "not a dependency of app: {closure:?}"
    );
    // Every edge stays inside the lock, so the closure never needs the index.
    for pin in lock.packages.values() {
        for dep in &pin.depends {
            assert!(
                lock.packages.contains_key(dep),
                "{} -> {dep} is not pinned",
                pin.name
            );
        }
    }
    let err = lock.closure(&names(&["nope"])).unwrap_err();
    assert_eq!(err.code_str(), "kiln::debian::lock_missing");
    // The text keeps the edges and sizes.
    let parsed = Lock::parse(&lock.to_text(), "kiln.lock").unwrap();
    assert_eq!(parsed, lock);
    assert!(lock.to_text().contains("installed-size = 100\n"));
}

/// Issue 20: two `kiln build`s adding different packages to one `kiln.lock` lost one of the
/// additions. Each writer now merges its additions into the file as it is, under a lock.
#[test]
fn concurrent_writers_keep_each_others_additions() {
    let index = fixture_index();
    let base = Lock::resolve(&index, &names(&["libc6"])).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kiln.lock");
    base.write(&path).unwrap();
    let additions = ["app", "tool", "old-user"];
    std::thread::scope(|scope| {
        for round in 0..4 {
            for name in additions {
                let (base, path, index) = (&base, &path, &index);
                scope.spawn(move || {
                    let mut ours = base.clone();
                    ours.add(index, &names(&[name])).unwrap();
                    let written = ours.write_merged(path, base).unwrap();
                    assert!(written.requests.contains(name), "round {round}");
                });
            }
        }
    });
    let merged = Lock::read(&path).unwrap().unwrap();
    for name in additions {
        assert!(merged.requests.contains(name), "{name} was lost");
        assert!(merged.packages.contains_key(name), "{name} was lost");
    }
    assert!(merged.packages.contains_key("libc6"));
    // No temporary is left beside it.
    let files: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(files.len(), 1);
}

#[test]
fn merge_takes_ours_where_theirs_kept_base() {
    let index = fixture_index();
    let base = Lock::resolve(&index, &names(&["libc6"])).unwrap();
    let mut ours = base.clone();
    ours.add(&index, &names(&["app"])).unwrap();
    let mut theirs = base.clone();
    theirs.add(&index, &names(&["tool"])).unwrap();
    let merged = Lock::merge(&base, &ours, &theirs);
    assert!(merged.packages.contains_key("app") && merged.packages.contains_key("tool"));
    assert_eq!(merged.requests.len(), 3);
    // Nothing changed on our side: theirs, unchanged.
    assert_eq!(Lock::merge(&base, &base, &theirs), theirs);
    // Where both changed one pin, theirs (written first) wins.
    let mut a = base.clone();
    let mut b = base.clone();
    a.packages.get_mut("libc6").unwrap().size = 1;
    b.packages.get_mut("libc6").unwrap().size = 2;
    assert_eq!(Lock::merge(&base, &a, &b).packages["libc6"].size, 2);
}
