//! The store and `kiln build` under concurrency, faults and hostile input, as a user meets them
//! (issue 20), on small synthetic builds that need no network: local files added by content
//! and `package-tree` trees of them (see `COMMON`). Each reproduction of the issue is a
//! test here:
//!
//! - concurrent cold builds of the same and of different profiles on one store build every step
//!   once (counted from their `built …` lines), agree on their results, and leave `verify` clean
//!   and no temporaries; the slow variant runs 20 rounds, half of them with a delay injected
//!   before every rename by `strace --inject`, as the reproduction did;
//! - `kill -9` at random moments of a cold build, then `kiln store gc` and a rebuild: `verify`
//!   clean, no temporaries, and the bytes of a clean build;
//! - `--check` compares bytes, not the recorded hash: a flipped byte is found, with its file and
//!   offset, and `--repair` rebuilds the entry; `verify` sees a setuid bit;
//! - `-o` replaces only a result link and leaves no temporary link on failure;
//! - `--dry-run` writes nothing;
//! - no exit 101: a span past column 65 535, cyclic and 10⁶-deep `toJSON`/`toXML`/`toString`, a
//!   closed pipe; `kiln parse` and `kiln eval` read invalid UTF-8 alike; a bad
//!   `system.sourceDateEpoch` is an error and the environment's is ignored.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

const KILN: &str = env!("CARGO_BIN_EXE_kiln");

/// `common.nix`: three trees (`top-*`), each over a tree of its own (`tree-*`, named in a
/// symlink, so it is an input), all holding a payload of local files (`payload`, added to the
/// store by content); two tops are shared by every variant, the third is the variant's own.
/// `copy-path` and `package-tree` are the builders that need neither the network nor a sandbox.
const COMMON: &str = r#"variant:
let
  payload = builtins.path { path = ./payload; name = "payload"; };
  tree = n: derivation {
    name = "tree-${n}"; builder = "package-tree"; system = "x86_64-linux"; packages = [ payload ];
    symlinks = builtins.toJSON { "etc/hostname-${n}" = "/blob-0"; };
  };
  top = n: derivation {
    name = "top-${n}"; builder = "package-tree"; system = "x86_64-linux"; packages = [ payload ];
    symlinks = builtins.toJSON { "etc/below" = "${tree n}"; };
  };
in { all = [ (top "shared1") (top "shared2") (top variant) ]; inherit payload; }
"#;

/// A directory with `common.nix`, `a.nix`, `b.nix` and a payload of `payload_bytes` (random-looking
/// bytes, so compressing them takes a while).
fn profiles(payload_bytes: usize) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("common.nix"), COMMON).unwrap();
    for v in ["a", "b", "c"] {
        fs::write(
            dir.path().join(format!("{v}.nix")),
            format!("import ./common.nix \"{v}\"\n"),
        )
        .unwrap();
    }
    fs::create_dir(dir.path().join("payload")).unwrap();
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    // Several files, so copying the payload takes a while.
    let files = payload_bytes.div_ceil(1 << 20).max(1);
    for i in 0..files {
        let size = (payload_bytes / files).max(1);
        let bytes: Vec<u8> = (0..size)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state as u8
            })
            .collect();
        fs::write(dir.path().join(format!("payload/blob-{i}")), bytes).unwrap();
    }
    dir
}

fn kiln(cwd: &Path, args: &[&str]) -> Output {
    Command::new(KILN)
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("run kiln")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `kiln build -A all` of `profile` into `store`, leaving the links at `link`.
fn build_command(dir: &Path, store: &Path, profile: &str, link: &str) -> Command {
    let mut command = Command::new(KILN);
    command
        .args(["build", "-A", "all", "--store"])
        .arg(store)
        .args(["-o", link, profile])
        .current_dir(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

fn assert_ok(out: &Output, what: &str) {
    assert!(
        out.status.success(),
        "{what} failed ({:?}):\n{}",
        out.status,
        text(&out.stderr)
    );
}

/// What a store holds besides entries and records: temporaries, registrations, lock files, and
/// entries without records.
fn leftovers(store: &Path) -> Vec<String> {
    let mut found = Vec::new();
    for dir in [".tmp", ".locks/procs", ".locks/entries"] {
        if let Ok(items) = fs::read_dir(store.join(dir)) {
            for item in items {
                found.push(format!(
                    "{dir}/{}",
                    item.unwrap().file_name().to_string_lossy()
                ));
            }
        }
    }
    for item in fs::read_dir(store).unwrap() {
        let name = item.unwrap().file_name().to_string_lossy().into_owned();
        let unregistered = !name.starts_with('.') && !store.join(".meta").join(&name).exists();
        if unregistered || name.starts_with(".check-") {
            found.push(name);
        }
    }
    found
}

fn verify_clean(dir: &Path, store: &Path) {
    let out = kiln(
        dir,
        &["store", "verify", "--store", store.to_str().unwrap()],
    );
    assert_ok(&out, "kiln store verify");
    assert!(
        text(&out.stderr).contains("no damage"),
        "{}",
        text(&out.stderr)
    );
}

/// Runs `variants` as concurrent cold builds on one fresh store; returns each one's stdout, and
/// checks that every step was built exactly once across them.
fn concurrent_round(dir: &Path, variants: &[&str], strace: bool) -> Vec<String> {
    let store = dir.join(format!("store-{}", std::process::id()));
    let _ = fs::remove_dir_all(&store);
    let children: Vec<Child> = variants
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let link = format!("result-{i}");
            let profile = format!("{v}.nix");
            let mut command = if strace {
                // Issue 20's reproduction: a delay before every rename widens the race.
                let mut c = Command::new("strace");
                c.args([
                    "-f",
                    "-qq",
                    "-o",
                    "/dev/null",
                    "-e",
                    "trace=rename,renameat,renameat2",
                    "-e",
                    "inject=rename,renameat,renameat2:delay_enter=50000",
                    KILN,
                ]);
                c.args(["build", "-A", "all", "--store"])
                    .arg(&store)
                    .args(["-o", &link, &profile])
                    .current_dir(dir)
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped());
                c
            } else {
                build_command(dir, &store, &profile, &link)
            };
            command.spawn().unwrap()
        })
        .collect();
    let outputs: Vec<Output> = children
        .into_iter()
        .map(|c| c.wait_with_output().unwrap())
        .collect();
    let mut built: Vec<String> = Vec::new();
    for out in &outputs {
        assert_ok(out, "a concurrent build");
        built.extend(
            text(&out.stderr)
                .lines()
                .filter_map(|l| l.strip_prefix("built "))
                .filter(|l| !l.contains("step(s)"))
                // `NAME [HASH]`: the names are unique in these graphs.
                .map(|l| l.split(" [").next().unwrap_or(l).to_string()),
        );
    }
    built.sort();
    let mut expected: Vec<String> = vec!["payload".into()];
    let mut names: Vec<&str> = vec!["shared1", "shared2"];
    names.extend(variants);
    names.sort();
    names.dedup();
    for n in names {
        expected.push(format!("tree-{n}"));
        expected.push(format!("top-{n}"));
    }
    expected.sort();
    assert_eq!(built, expected, "every step is built exactly once");
    verify_clean(dir, &store);
    assert!(leftovers(&store).is_empty(), "{:?}", leftovers(&store));
    let stdouts: Vec<String> = outputs.iter().map(|o| text(&o.stdout)).collect();
    for (i, v) in variants.iter().enumerate() {
        for (j, w) in variants.iter().enumerate() {
            if v == w {
                assert_eq!(stdouts[i], stdouts[j], "the same profile, the same results");
            }
        }
    }
    fs::remove_dir_all(&store).unwrap();
    stdouts
}

#[test]
fn concurrent_cold_builds_build_each_step_once() {
    let dir = profiles(64 * 1024);
    for _ in 0..3 {
        concurrent_round(dir.path(), &["a", "a", "b", "c"], false);
    }
}

#[test]
fn concurrent_cold_builds_twenty_rounds_with_delayed_renames() {
    if !kiln_testkit::slow("concurrent cold builds, 20 rounds", &["strace"]) {
        return;
    }
    let dir = profiles(256 * 1024);
    for round in 0..20 {
        concurrent_round(dir.path(), &["a", "a", "b", "a"], round % 2 == 1);
    }
}

/// `kill -9` at a random moment of a cold build, then gc and a rebuild, `rounds` times.
fn kill_rounds(rounds: usize, payload: usize) {
    let dir = profiles(payload);
    let dir = dir.path();
    // The bytes of a clean build, to compare with.
    let clean = dir.join("clean-store");
    let out = build_command(dir, &clean, "a.nix", "clean")
        .output()
        .unwrap();
    assert_ok(&out, "the clean build");
    let clean_paths = text(&out.stdout);
    let store = dir.join("store");
    let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
    let mut collected = 0;
    for round in 0..rounds {
        let _ = fs::remove_dir_all(&store);
        let mut child = build_command(dir, &store, "a.nix", "result")
            .spawn()
            .unwrap();
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        std::thread::sleep(Duration::from_millis(seed % 1500));
        child.kill().unwrap();
        child.wait().unwrap();
        let out = kiln(dir, &["store", "gc", "--store", store.to_str().unwrap()]);
        assert_ok(&out, "kiln store gc");
        let report = text(&out.stderr);
        assert!(report.contains("freed"), "{report}");
        if !report.contains("; 0 temporaries") {
            collected += 1;
        }
        assert!(
            leftovers(&store).is_empty(),
            "round {round}: {:?}",
            leftovers(&store)
        );
        let out = build_command(dir, &store, "a.nix", "result")
            .output()
            .unwrap();
        assert_ok(&out, "the rebuild");
        verify_clean(dir, &store);
        // Store paths name their store (a derivation's attributes hold its inputs' paths), so
        // the results are compared by their bytes, in order.
        let ours: Vec<&str> = text(&out.stdout).lines().map(leak).collect();
        let theirs: Vec<&str> = clean_paths.lines().collect();
        assert_eq!(ours.len(), theirs.len());
        for (a, b) in ours.iter().zip(&theirs) {
            assert!(
                kiln_store_tree_bytes(Path::new(a)) == kiln_store_tree_bytes(Path::new(b)),
                "round {round}: {a} differs from a clean build"
            );
        }
        assert!(
            leftovers(&store).is_empty(),
            "round {round}: {:?}",
            leftovers(&store)
        );
    }
    eprintln!("kill -9: {rounds} rounds, {collected} left temporaries for gc");
}

#[test]
fn kill_9_then_gc_and_rebuild() {
    kill_rounds(3, 4 << 20);
}

#[test]
fn kill_9_then_gc_and_rebuild_twenty_rounds() {
    if !kiln_testkit::slow("kill -9, 20 rounds", &[]) {
        return;
    }
    kill_rounds(20, 8 << 20);
}

fn leak(s: &str) -> &'static str {
    Box::leak(s.to_string().into_boxed_str())
}

/// The bytes of every file under `path`, in path order.
fn kiln_store_tree_bytes(path: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    for (file, _) in tree_listing(path) {
        if fs::symlink_metadata(&file).unwrap().is_file() {
            out.push((
                file.strip_prefix(path).unwrap().to_path_buf(),
                fs::read(&file).unwrap(),
            ));
        }
    }
    out
}

/// The first regular file under `path`.
fn first_file(path: &Path) -> PathBuf {
    tree_listing(path)
        .into_iter()
        .map(|(p, _)| p)
        .find(|p| fs::symlink_metadata(p).unwrap().is_file())
        .expect("a file")
}

/// Makes a store file writable, changes it with `change`, and makes it read-only again.
fn tamper(path: &Path, change: impl FnOnce(&Path)) {
    let mode = fs::metadata(path).unwrap().permissions().mode();
    fs::set_permissions(path, fs::Permissions::from_mode(mode | 0o200)).unwrap();
    change(path);
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

#[test]
fn check_compares_bytes_and_repair_rebuilds() {
    let dir = profiles(32 * 1024);
    let dir = dir.path();
    let store = dir.join("store");
    let out = build_command(dir, &store, "a.nix", "result")
        .output()
        .unwrap();
    assert_ok(&out, "build");
    // The payload's files are the entry's own (the trees hard-link them).
    let payload = fs::read_dir(&store)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().ends_with("-payload"))
        .unwrap();
    let image = first_file(&payload);
    let check = || {
        kiln(
            dir,
            &[
                "build",
                "--check",
                "-A",
                "payload",
                "--store",
                store.to_str().unwrap(),
                "a.nix",
            ],
        )
    };
    let out = check();
    assert_ok(&out, "--check");
    assert!(
        text(&out.stderr).contains("reproducible"),
        "{}",
        text(&out.stderr)
    );
    // Issue 20: a flipped byte of the ISO in the store passed `--check`, which compared
    // hashes, and a plain build then linked the damaged file.
    tamper(&image, |path| {
        let mut bytes = fs::read(path).unwrap();
        bytes[100] ^= 0xff;
        fs::write(path, bytes).unwrap();
    });
    let out = check();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("DAMAGED") && stderr.contains("offset 100 (0x64)"),
        "{stderr}"
    );
    let out = kiln(
        dir,
        &["store", "verify", "--store", store.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(1));
    let out = kiln(
        dir,
        &[
            "build",
            "--repair",
            // The trees hard-link the payload's files: they were damaged with it.
            "-A",
            "all",
            "--store",
            store.to_str().unwrap(),
            "-o",
            "result",
            "a.nix",
        ],
    );
    assert_ok(&out, "--repair");
    assert!(
        text(&out.stderr).contains("damaged: "),
        "{}",
        text(&out.stderr)
    );
    assert_ok(&check(), "--check after the repair");
    verify_clean(dir, &store);
    // Issue 20: `chmod 4555` on a file of an entry passed `verify`, and reached the image.
    let image = first_file(
        &fs::read_dir(&store)
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.to_string_lossy().ends_with("-payload"))
            .unwrap(),
    );
    fs::set_permissions(&image, fs::Permissions::from_mode(0o4555)).unwrap();
    let out = kiln(
        dir,
        &["store", "verify", "--store", store.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("-payload"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn out_link_replaces_only_result_links() {
    let dir = profiles(1024);
    let dir = dir.path();
    let store = dir.join("store");
    let build = |link: &str| build_command(dir, &store, "a.nix", link).output().unwrap();
    // Issue 20: `-o` replaced a regular file, and `-o DIR` failed leaving `DIR.tmp<pid>`.
    fs::write(dir.join("precious"), "keep me").unwrap();
    fs::create_dir(dir.join("somedir")).unwrap();
    std::os::unix::fs::symlink("/etc/hostname", dir.join("foreign")).unwrap();
    for link in ["precious", "somedir", "foreign"] {
        let out = build(link);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{link}: {stderr}");
        assert!(stderr.contains("kiln::driver::out_link_taken"), "{stderr}");
    }
    assert_eq!(fs::read_to_string(dir.join("precious")).unwrap(), "keep me");
    assert!(dir.join("somedir").is_dir());
    assert_eq!(
        fs::read_link(dir.join("foreign")).unwrap(),
        Path::new("/etc/hostname")
    );
    // A result link is replaced.
    assert_ok(&build("result"), "first build");
    assert_ok(&build("result"), "second build");
    let stray: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("tmp"))
        .collect();
    assert!(stray.is_empty(), "{stray:?}");
}

#[test]
fn dry_run_writes_nothing() {
    let dir = profiles(1024);
    let dir = dir.path();
    let store = dir.join("store");
    let out = kiln(
        dir,
        &[
            "build",
            "--dry-run",
            "-A",
            "all",
            "--store",
            store.to_str().unwrap(),
            "a.nix",
        ],
    );
    assert_ok(&out, "--dry-run");
    assert!(text(&out.stdout).contains("top-a"), "{}", text(&out.stdout));
    assert!(!store.exists(), "--dry-run created the store");
    assert!(!dir.join("result").exists() && !dir.join("kiln.lock").exists());
    // With a store: it is left as it was.
    assert_ok(
        &build_command(dir, &store, "b.nix", "result")
            .output()
            .unwrap(),
        "build",
    );
    let before = tree_listing(&store);
    let out = kiln(
        dir,
        &[
            "build",
            "--dry-run",
            "-A",
            "all",
            "--store",
            store.to_str().unwrap(),
            "a.nix",
        ],
    );
    assert_ok(&out, "--dry-run");
    assert_eq!(tree_listing(&store), before);
}

fn tree_listing(root: &Path) -> Vec<(PathBuf, u64)> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(path) = stack.pop() {
        let meta = fs::symlink_metadata(&path).unwrap();
        out.push((path.clone(), meta.len()));
        if meta.is_dir() {
            for item in fs::read_dir(&path).unwrap() {
                stack.push(item.unwrap().path());
            }
        }
    }
    out.sort();
    out
}

/// Runs `kiln ARGS` and checks it ended with an error of its own, not a panic.
fn fails_cleanly(args: &[&str]) -> String {
    let out = kiln(Path::new("/"), args);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    stderr
}

#[test]
fn no_exit_101_on_hostile_input() {
    let dir = tempfile::tempdir().unwrap();
    let wide = dir.path().join("wide.nix");
    fs::write(&wide, format!("{})\n", " ".repeat(70_000))).unwrap();
    for command in ["parse", "eval"] {
        let stderr = fails_cleanly(&[command, wide.to_str().unwrap()]);
        assert!(stderr.contains("1:70001"), "{stderr}");
    }
    for expr in [
        "let x = { a = x; }; in builtins.toJSON x",
        "let x = { a = x; }; in builtins.toXML x",
        "let x = [ x ]; in toString x",
        "let f = n: if n == 0 then [] else [ (f (n - 1)) ]; in builtins.toJSON (f 1000000)",
        "let f = n: if n == 0 then [] else [ (f (n - 1)) ]; in builtins.toXML (f 1000000)",
        "let f = n: if n == 0 then [] else [ (f (n - 1)) ]; in toString (f 1000000)",
    ] {
        let stderr = fails_cleanly(&["eval", "--strict", "-E", expr]);
        assert!(
            stderr.contains("stack overflow") || stderr.contains("infinite recursion"),
            "{expr}: {stderr}"
        );
    }
    // A closed pipe is no panic either.
    let mut child = Command::new(KILN)
        .args(["eval", "--strict", "-E", "builtins.genList (x: x) 1000000"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert_ne!(out.status.code(), Some(101), "{}", text(&out.stderr));
    assert!(
        !text(&out.stderr).contains("panicked"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn parse_and_eval_read_invalid_utf8_alike() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("latin1.nix");
    // nix accepts this file in both modes; kiln reads the bad bytes as U+FFFD in both.
    fs::write(&file, b"# caf\xe9\n\"a\xff\xfeb\"\n").unwrap();
    let parse = kiln(dir.path(), &["parse", file.to_str().unwrap()]);
    let eval = kiln(dir.path(), &["eval", file.to_str().unwrap()]);
    assert_ok(&parse, "kiln parse");
    assert_ok(&eval, "kiln eval");
    assert_eq!(text(&parse.stdout), "\"a\u{fffd}\u{fffd}b\"\n");
    assert_eq!(parse.stdout, eval.stdout);
}

#[test]
fn a_bad_source_date_epoch_is_an_error_and_the_environment_is_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let minimal =
        kiln_testkit::workspace().join("profiles/installer/cd-dvd/installation-cd-minimal.nix");
    let profile = dir.path().join("profile.nix");
    fs::write(
        &profile,
        format!(
            "{{ ... }}: {{ imports = [ {} ]; system.sourceDateEpoch = \"garbage\"; }}\n",
            minimal.display()
        ),
    )
    .unwrap();
    fs::copy(
        kiln_testkit::workspace().join("profiles/kiln.lock"),
        dir.path().join("kiln.lock"),
    )
    .unwrap();
    let stderr = fails_cleanly(&[
        "eval",
        "-A",
        "config.system.sourceDateEpoch",
        profile.to_str().unwrap(),
    ]);
    assert!(
        stderr.contains("sourceDateEpoch") && stderr.contains("not of type"),
        "{stderr}"
    );
    // The variable is not an input: garbage in it changes nothing.
    let plain = kiln(Path::new("/"), &["eval", "-E", "builtins.getEnv \"X\""]);
    let out = Command::new(KILN)
        .args([
            "eval",
            "-A",
            "config.system.sourceDateEpoch",
            minimal.to_str().unwrap(),
        ])
        .env("SOURCE_DATE_EPOCH", "garbage")
        .output()
        .unwrap();
    assert_ok(&plain, "eval");
    assert_ok(&out, "eval under SOURCE_DATE_EPOCH=garbage");
    assert_eq!(text(&out.stdout), "315532800\n");
}

/// The minimal installer with its own `system.sourceDateEpoch`, so every image step (initrd,
/// root tree, squashfs, ESP, ISO) is cold while the packages' steps are shared.
fn real_profile(dir: &Path, name: &str, epoch: u32) {
    let minimal =
        kiln_testkit::workspace().join("profiles/installer/cd-dvd/installation-cd-minimal.nix");
    fs::write(
        dir.join(format!("{name}.nix")),
        format!(
            "{{ ... }}: {{ imports = [ {} ]; system.sourceDateEpoch = {epoch}; }}\n",
            minimal.display()
        ),
    )
    .unwrap();
}

fn real_build(dir: &Path, store: &Path, profile: &str, link: &str) -> Command {
    let mut command = Command::new(KILN);
    command
        .args(["build", "--locked", "--store"])
        .arg(store)
        .args(["-o", link, profile])
        .current_dir(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

/// With Debian's packages (slow; the network on first use): three concurrent cold builds on one
/// fresh store, two of the same profile, fetch and build every step once; then a build killed
/// at a random moment, `gc`, and a rebuild whose ISO `--check` finds byte-identical to a fresh
/// build, with `verify` clean and nothing left behind.
#[test]
fn real_packages_concurrent_builds_and_a_kill() {
    if !kiln_testkit::slow("concurrent builds with Debian's packages", &[]) {
        return;
    }
    let dir = tempfile::tempdir_in(kiln_testkit::workspace().join("target")).unwrap();
    let dir = dir.path();
    fs::copy(
        kiln_testkit::workspace().join("profiles/kiln.lock"),
        dir.join("kiln.lock"),
    )
    .unwrap();
    let store = dir.join("store");
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as u32;
    real_profile(dir, "p1", 400_000_000 + seed % 1_000_000);
    real_profile(dir, "p2", 500_000_000 + seed % 1_000_000);
    real_profile(dir, "p3", 600_000_000 + seed % 1_000_000);
    let children: Vec<Child> = [("p1.nix", "r1"), ("p1.nix", "r2"), ("p2.nix", "r3")]
        .iter()
        .map(|(p, l)| real_build(dir, &store, p, l).spawn().unwrap())
        .collect();
    let outputs: Vec<Output> = children
        .into_iter()
        .map(|c| c.wait_with_output().unwrap())
        .collect();
    let mut built: Vec<String> = Vec::new();
    for out in &outputs {
        assert_ok(out, "a concurrent build");
        built.extend(
            text(&out.stderr)
                .lines()
                .filter_map(|l| l.strip_prefix("built "))
                .filter(|l| !l.contains("step(s)"))
                .map(String::from),
        );
    }
    let total = built.len();
    built.sort();
    built.dedup();
    assert_eq!(built.len(), total, "a step was built twice");
    assert!(built.iter().any(|s| s.contains(".deb [")), "{built:?}");
    assert_eq!(outputs[0].stdout, outputs[1].stdout);
    assert_ne!(outputs[0].stdout, outputs[2].stdout);
    verify_clean(dir, &store);
    assert!(leftovers(&store).is_empty(), "{:?}", leftovers(&store));
    eprintln!("concurrent: {total} steps, each built once");

    let mut child = real_build(dir, &store, "p3.nix", "r4").spawn().unwrap();
    std::thread::sleep(Duration::from_millis(2_000 + u64::from(seed % 30_000)));
    child.kill().unwrap();
    child.wait().unwrap();
    let out = kiln(dir, &["store", "gc", "--store", store.to_str().unwrap()]);
    assert_ok(&out, "kiln store gc");
    eprintln!(
        "after kill -9: {}",
        text(&out.stderr).lines().last().unwrap_or("")
    );
    assert!(leftovers(&store).is_empty(), "{:?}", leftovers(&store));
    let out = real_build(dir, &store, "p3.nix", "r4").output().unwrap();
    assert_ok(&out, "the rebuild");
    verify_clean(dir, &store);
    let out = kiln(
        dir,
        &[
            "build",
            "--locked",
            "--check",
            "--store",
            store.to_str().unwrap(),
            "p3.nix",
        ],
    );
    assert_ok(&out, "--check of the rebuilt ISO");
    assert!(
        text(&out.stderr).contains("reproducible"),
        "{}",
        text(&out.stderr)
    );
    assert!(leftovers(&store).is_empty(), "{:?}", leftovers(&store));
}

#[test]
fn a_full_disk_names_enospc_and_the_step() {
    let dir = profiles(3 << 20);
    let dir = dir.path();
    let mount = dir.join("small");
    fs::create_dir(&mount).unwrap();
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=2m", "tmpfs"])
        .arg(&mount)
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !mounted {
        eprintln!("disk full: skipped (mounting a small tmpfs needs root and CAP_SYS_ADMIN)");
        return;
    }
    let store = mount.join("store");
    let out = build_command(dir, &store, "a.nix", "result")
        .output()
        .unwrap();
    let stderr = text(&out.stderr);
    let leftover = leftovers(&store);
    let _ = Command::new("umount").arg(&mount).status();
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("ENOSPC") && stderr.contains("kiln::store::no_space"),
        "{stderr}"
    );
    assert!(stderr.contains("while building `"), "{stderr}");
    assert!(leftover.is_empty(), "{leftover:?}");
}

/// `--dry-run` says what it would pin and pins nothing; concurrent `kiln lock`s of profiles
/// that add different packages to one `kiln.lock` keep both (issue 20 lost one). Slow: it reads
/// Debian's index over the network.
#[test]
fn dry_run_would_pin_and_concurrent_locks_keep_both_additions() {
    if !kiln_testkit::slow("pins with Debian's index", &[]) {
        return;
    }
    let dir = tempfile::tempdir_in(kiln_testkit::workspace().join("target")).unwrap();
    let dir = dir.path();
    let lock = dir.join("kiln.lock");
    fs::copy(kiln_testkit::workspace().join("profiles/kiln.lock"), &lock).unwrap();
    let minimal =
        kiln_testkit::workspace().join("profiles/installer/cd-dvd/installation-cd-minimal.nix");
    for (name, package) in [("one", "hello"), ("two", "cowsay")] {
        fs::write(
            dir.join(format!("{name}.nix")),
            format!(
                "{{ pkgs, ... }}: {{ imports = [ {} ]; environment.systemPackages = [ pkgs.{package} ]; }}\n",
                minimal.display()
            ),
        )
        .unwrap();
    }
    let before = fs::read(&lock).unwrap();
    let fresh = dir.join("no-store");
    let out = kiln(
        dir,
        &[
            "build",
            "--dry-run",
            "--store",
            fresh.to_str().unwrap(),
            "one.nix",
        ],
    );
    assert_ok(&out, "--dry-run");
    assert!(
        text(&out.stderr).contains("would pin") && text(&out.stderr).contains("hello"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(fs::read(&lock).unwrap(), before, "--dry-run wrote the lock");
    assert!(!fresh.exists(), "--dry-run created the store");
    let store = dir.join("store");
    let children: Vec<Child> = ["one.nix", "two.nix"]
        .iter()
        .map(|p| {
            Command::new(KILN)
                .args(["lock", "--store", store.to_str().unwrap(), p])
                .current_dir(dir)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        assert_ok(&child.wait_with_output().unwrap(), "kiln lock");
    }
    let after = fs::read_to_string(&lock).unwrap();
    assert!(after.contains("request = hello"), "hello was lost");
    assert!(after.contains("request = cowsay"), "cowsay was lost");
}
