//! The store under concurrency and faults, through the public API, with real processes: the
//! test binary runs itself as the builders (`child`, which does nothing unless `KILN_STORE_CHILD`
//! is set), so locks are taken by distinct processes as `kiln build`s take them.
//!
//! - concurrent realisations of the same and of overlapping graphs build each step once, the
//!   others wait and reuse it, and `verify` is clean; also with a delay before every rename;
//! - `kill -9` at random moments leaves nothing that blocks the next build, and `gc` removes the
//!   dead builder's temporaries and says how much that freed;
//! - `verify` sees modes (setuid), owners and symlink targets, reports records of the older
//!   format as outdated and upgrades them on repair;
//! - a full disk (a small tmpfs, when the test runs as root) names `ENOSPC` and the step, and
//!   leaves nothing half-written.

use kiln_store::{
    realise, BuildError, Builder, Builders, Derivation, Digest, DrvId, Events, Graph, Quiet,
    RealiseOptions, Store, StoreError,
};
use std::fs;
use std::io::Write as _;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Writes its args after its inputs' contents, slowly enough to overlap with other builders,
/// and appends its step's name to `KILN_STORE_CHILD_LOG` so the parent can count builds.
struct Logged {
    log: PathBuf,
    delay: Duration,
}

impl Builder for Logged {
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
        let io = |e: std::io::Error| BuildError::message(e.to_string());
        let mut log = fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(&self.log)
            .map_err(io)?;
        log.write_all(format!("{}\n", drv.name).as_bytes())
            .map_err(io)?;
        fs::create_dir(out).map_err(io)?;
        let mut text = String::new();
        for input in inputs {
            text.push_str(&fs::read_to_string(input.join("data")).map_err(io)?);
        }
        text.push_str(&drv.args.concat());
        // Written in pieces, so a kill lands in the middle of a step.
        let chunk = vec![b'x'; 64 * 1024];
        let mut file = fs::File::create(out.join("data")).map_err(io)?;
        file.write_all(text.as_bytes()).map_err(io)?;
        for _ in 0..4 {
            std::thread::sleep(self.delay / 4);
            fs::write(out.join(format!("pad-{}", drv.name.len())), &chunk).map_err(io)?;
        }
        fs::set_permissions(out.join("data"), fs::Permissions::from_mode(0o755)).map_err(io)?;
        std::os::unix::fs::symlink("data", out.join("link")).map_err(io)?;
        Ok(())
    }
}

fn step(name: &str, arg: &str, inputs: &[DrvId]) -> Derivation {
    let mut drv = Derivation::new(name, "logged");
    drv.args.push(arg.into());
    drv.inputs = inputs.to_vec();
    drv
}

/// A graph of `width` leaves under a middle step and a top; `variant` changes the top only, so
/// two variants share every step but one.
fn graph(width: usize, variant: &str) -> (Graph, DrvId) {
    let mut graph = Graph::new();
    let leaves: Vec<DrvId> = (0..width)
        .map(|i| graph.add(step(&format!("leaf{i}"), &i.to_string(), &[])))
        .collect();
    let middle = graph.add(step("middle", "m", &leaves));
    let top = graph.add(step(&format!("top-{variant}"), variant, &[middle]));
    (graph, top)
}

/// The child side: realise `graph(width, variant)` on the store named by the environment.
#[test]
fn child() {
    let Ok(spec) = std::env::var("KILN_STORE_CHILD") else {
        return;
    };
    let parts: Vec<&str> = spec.split(':').collect();
    let (store, log, variant, delay_ms, rename_ms) =
        (parts[0], parts[1], parts[2], parts[3], parts[4]);
    kiln_store::set_rename_delay(Duration::from_millis(rename_ms.parse().unwrap()));
    let store = Store::open(store).unwrap();
    let builder = Logged {
        log: PathBuf::from(log),
        delay: Duration::from_millis(delay_ms.parse().unwrap()),
    };
    let builders: Builders = [("logged", &builder as &dyn Builder)].into_iter().collect();
    let (graph, top) = graph(4, variant);
    let options = RealiseOptions {
        jobs: 2,
        ..RealiseOptions::default()
    };
    let paths = realise(&store, &graph, &[top], &builders, &options, &Quiet).unwrap();
    println!("RESULT {}", paths[&top].display());
}

fn spawn_child(store: &Path, log: &Path, variant: &str, delay_ms: u64, rename_ms: u64) -> Child {
    Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "faults::child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(
            "KILN_STORE_CHILD",
            format!(
                "{}:{}:{variant}:{delay_ms}:{rename_ms}",
                store.display(),
                log.display()
            ),
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn result_of(child: Child) -> PathBuf {
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "child failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line = stdout
        .lines()
        .find_map(|l| l.split("RESULT ").nth(1))
        .expect("the child printed its result");
    PathBuf::from(line)
}

fn builds(log: &Path) -> Vec<String> {
    let mut lines: Vec<String> = fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .map(String::from)
        .collect();
    lines.sort();
    lines
}

/// Everything `gc` and the locks leave: temporaries, registrations, lock files.
fn leftovers(root: &Path) -> Vec<String> {
    let mut found = Vec::new();
    for dir in [".tmp", ".locks/procs", ".locks/entries"] {
        for item in fs::read_dir(root.join(dir)).unwrap() {
            found.push(format!(
                "{dir}/{}",
                item.unwrap().file_name().to_string_lossy()
            ));
        }
    }
    for item in fs::read_dir(root).unwrap() {
        let name = item.unwrap().file_name().to_string_lossy().into_owned();
        if !name.starts_with('.') && !root.join(".meta").join(&name).exists() {
            found.push(format!("unregistered {name}"));
        }
    }
    found
}

#[test]
fn concurrent_realisations_build_each_step_once() {
    for round in 0..20 {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("store");
        Store::open(&root).unwrap();
        let log = dir.path().join("log");
        // Odd rounds widen the race with a delay before every rename, as issue 20's
        // reproduction did with `strace --inject`.
        let rename_ms = if round % 2 == 1 { 30 } else { 0 };
        let variants = ["a", "a", "b", "a"];
        let children: Vec<Child> = variants
            .iter()
            .map(|v| spawn_child(&root, &log, v, 40, rename_ms))
            .collect();
        let results: Vec<PathBuf> = children.into_iter().map(result_of).collect();
        // Every step of the union of the graphs, once: 4 leaves, the middle, two tops.
        let mut expected: Vec<String> = (0..4).map(|i| format!("leaf{i}")).collect();
        expected.extend(["middle".into(), "top-a".into(), "top-b".into()]);
        expected.sort();
        assert_eq!(builds(&log), expected, "round {round}");
        assert_eq!(results[0], results[1]);
        assert_eq!(results[0], results[3]);
        assert_ne!(results[0], results[2]);
        let store = Store::open(&root).unwrap();
        let report = store.verify(false).unwrap();
        assert!(report.damage.is_empty(), "round {round}: {report:?}");
        assert_eq!(report.checked, 7);
        drop(store);
        assert!(
            leftovers(&root).is_empty(),
            "round {round}: {:?}",
            leftovers(&root)
        );
    }
}

#[test]
fn kill_at_random_moments_leaves_nothing_that_blocks() {
    let mut seed = 0x9e37_79b9_u64;
    let mut freed_total = 0;
    for round in 0..20 {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("store");
        Store::open(&root).unwrap();
        let log = dir.path().join("log");
        let mut child = spawn_child(&root, &log, "a", 200, 0);
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        std::thread::sleep(Duration::from_millis(20 + seed % 700));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        // Nothing blocks the next build: it runs at once and completes.
        let start = Instant::now();
        let result = result_of(spawn_child(&root, &log, "a", 0, 0));
        assert!(start.elapsed() < Duration::from_secs(20), "round {round}");
        let store = Store::open(&root).unwrap();
        let report = store.gc().unwrap();
        freed_total += report.freed;
        drop(store);
        assert!(
            leftovers(&root).is_empty(),
            "round {round}: {:?}",
            leftovers(&root)
        );
        let store = Store::open(&root).unwrap();
        assert!(
            store.verify(false).unwrap().damage.is_empty(),
            "round {round}"
        );
        assert!(result.starts_with(&root));
    }
    assert!(freed_total > 0, "no kill landed inside a build");
}

#[test]
fn gc_removes_temporaries_of_dead_builders_only_and_says_how_much_it_freed() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("store");
    let running = Store::open(&root).unwrap();
    // A running kiln's scratch space is kept.
    let scratch = running.scratch("check").unwrap();
    fs::write(&scratch, vec![1u8; 100_000]).unwrap();
    // A dead one's (its registration unlocked, as the kernel leaves it), and temporaries in
    // the layout of older kilns, are not.
    fs::create_dir(root.join(".tmp/0000000000001-42-0")).unwrap();
    fs::write(root.join(".tmp/0000000000001-42-0/0-x"), vec![2u8; 300_000]).unwrap();
    fs::write(root.join(".locks/procs/0000000000001-42-0"), "").unwrap();
    let report = Store::open(&root).unwrap().gc().unwrap();
    assert_eq!(report.temporaries, 1, "{report:?}");
    assert!(report.freed >= 300_000, "{report:?}");
    assert!(scratch.exists());
    assert!(!root.join(".tmp/0000000000001-42-0").exists());
    assert!(!root.join(".locks/procs/0000000000001-42-0").exists());
    // Older kilns' temporaries carry no owner: they go once every running kiln started after
    // they last changed. This one changed after `running` started, so it stays for now.
    fs::create_dir(root.join(".tmp/x.123.0")).unwrap();
    fs::create_dir(root.join(".check-abc")).unwrap();
    Store::open(&root).unwrap().gc().unwrap();
    assert!(root.join(".tmp/x.123.0").exists());
    drop(running);
    assert!(
        !scratch.exists(),
        "a kiln removes its own temporaries when it ends"
    );
    // File times tick coarsely: let the clock pass them.
    std::thread::sleep(Duration::from_millis(20));
    let report = Store::open(&root).unwrap().gc().unwrap();
    assert_eq!(report.temporaries, 2, "{report:?} {:?}", leftovers(&root));
    assert!(!root.join(".tmp/x.123.0").exists() && !root.join(".check-abc").exists());
}

fn tree_entry(store: &Store, key: &str) -> kiln_store::EntryName {
    store
        .add(&Digest::of(key.as_bytes()), key, &[], None, |out| {
            let io = |e: std::io::Error| BuildError::message(e.to_string());
            fs::create_dir(out).map_err(io)?;
            fs::write(out.join("su"), "#!/bin/sh\n").map_err(io)?;
            fs::set_permissions(out.join("su"), fs::Permissions::from_mode(0o755)).map_err(io)?;
            std::os::unix::fs::symlink("su", out.join("link")).map_err(io)
        })
        .unwrap()
}

/// Makes a registered (read-only) entry's directory writable, changes it, and seals it again.
fn tamper(dir: &Path, change: impl FnOnce()) {
    fs::set_permissions(dir, fs::Permissions::from_mode(0o755)).unwrap();
    change();
    fs::set_permissions(dir, fs::Permissions::from_mode(0o555)).unwrap();
}

#[test]
fn verify_sees_modes_owners_and_symlink_targets() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("store")).unwrap();
    // Issue 20: `chmod 4555` on a file of an entry passed `verify`, and reached the image.
    let setuid = tree_entry(&store, "setuid");
    fs::set_permissions(
        store.path(&setuid).join("su"),
        fs::Permissions::from_mode(0o4555),
    )
    .unwrap();
    let relinked = tree_entry(&store, "relinked");
    let path = store.path(&relinked);
    tamper(&path, || {
        fs::remove_file(path.join("link")).unwrap();
        std::os::unix::fs::symlink("elsewhere", path.join("link")).unwrap();
    });
    let writable = tree_entry(&store, "writable");
    fs::set_permissions(
        store.path(&writable).join("su"),
        fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    let mut damaged = vec![setuid.clone(), relinked.clone(), writable.clone()];
    let is_root = fs::metadata("/proc/self").map(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0);
    if is_root.unwrap_or(false) {
        let chowned = tree_entry(&store, "chowned");
        std::os::unix::fs::lchown(store.path(&chowned).join("su"), Some(1), Some(1)).unwrap();
        damaged.push(chowned);
    } else {
        eprintln!("owner check: skipped (changing an owner needs root)");
    }
    let intact = tree_entry(&store, "intact");
    damaged.sort();
    let report = store.verify(false).unwrap();
    let found: Vec<_> = report.damage.iter().map(|d| d.entry.clone()).collect();
    assert_eq!(found, damaged, "{report:?}");
    let writable_problem = &report
        .damage
        .iter()
        .find(|d| d.entry == writable)
        .unwrap()
        .problem;
    assert!(
        writable_problem.contains("`su` is writable"),
        "{writable_problem}"
    );
    let report = store.verify(true).unwrap();
    assert!(report.damage.iter().all(|d| d.removed));
    assert!(store.contains(&intact) && !store.contains(&setuid));
    assert!(store.verify(false).unwrap().damage.is_empty());
}

#[test]
fn records_of_the_older_format_are_reported_and_upgraded() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("store")).unwrap();
    let entry = tree_entry(&store, "old");
    // What an older kiln wrote: format 1, whose hash covers no modes or owners.
    let v1 = kiln_store::hash_tree_as(&store.path(&entry), kiln_store::TreeFormat::V1).unwrap();
    let record = store.root().join(".meta").join(entry.as_str());
    fs::write(&record, format!("kiln-store-entry 1\ncontent {v1}\n")).unwrap();
    let info = store.info(&entry).unwrap().unwrap();
    assert_eq!(info.format, kiln_store::TreeFormat::V1);
    let report = store.verify(false).unwrap();
    assert!(report.damage.is_empty(), "{report:?}");
    assert_eq!(report.outdated, vec![entry.clone()]);
    let report = store.verify(true).unwrap();
    assert_eq!(report.upgraded, 1);
    assert!(fs::read_to_string(&record)
        .unwrap()
        .starts_with("kiln-store-entry 2\n"));
    let report = store.verify(false).unwrap();
    assert!(
        report.outdated.is_empty() && report.damage.is_empty(),
        "{report:?}"
    );
    // A format it does not know is a damaged record, not a misread one: `verify` reports it,
    // `gc` keeps it, and repair removes it.
    fs::write(&record, "kiln-store-entry 9\ncontent x\n").unwrap();
    assert!(matches!(
        store.info(&entry),
        Err(StoreError::BadRecord { .. })
    ));
    let report = store.verify(false).unwrap();
    assert_eq!(report.damage.len(), 1, "{report:?}");
    assert!(
        report.damage[0].problem.contains("unknown format"),
        "{report:?}"
    );
    let root = store.root().to_path_buf();
    drop(store);
    let store = Store::open(&root).unwrap();
    assert_eq!(store.gc().unwrap().kept, 1);
    assert!(store.verify(true).unwrap().damage[0].removed);
    assert!(!store.path(&entry).exists());
}

#[test]
fn a_full_disk_names_enospc_and_the_step_and_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mount = dir.path().join("small");
    fs::create_dir(&mount).unwrap();
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=1m", "tmpfs"])
        .arg(&mount)
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !mounted {
        eprintln!("disk full: skipped (mounting a small tmpfs needs root and CAP_SYS_ADMIN)");
        return;
    }
    struct Unmount(PathBuf);
    impl Drop for Unmount {
        fn drop(&mut self) {
            let _ = Command::new("umount").arg(&self.0).status();
        }
    }
    let _unmount = Unmount(mount.clone());
    let store = Store::open(mount.join("store")).unwrap();
    let err = store
        .add(&Digest::of(b"big"), "big-step", &[], None, |out| {
            fs::write(out, vec![0u8; 4 << 20])
                .map_err(|e| BuildError::message(format!("cannot write: {e}")))
        })
        .unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, StoreError::NoSpace { .. }), "{text}");
    assert!(
        text.contains("ENOSPC") && text.contains("`big-step`"),
        "{text}"
    );
    assert!(store.list().unwrap().is_empty());
    let root = store.root().to_path_buf();
    drop(store);
    assert!(leftovers(&root).is_empty(), "{:?}", leftovers(&root));
    // And the store still works once there is room.
    let store = Store::open(&root).unwrap();
    store
        .add(&Digest::of(b"small"), "small", &[], None, |out| {
            fs::write(out, "fits").map_err(|e| BuildError::message(e.to_string()))
        })
        .unwrap();
}
