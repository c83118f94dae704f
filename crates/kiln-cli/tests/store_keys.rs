//! Store keys cover every input, as a user meets it (slow: they build the minimal installer's
//! ISO from Debian's packages, into `$KILN_STORE` or `target/kiln-test-store`):
//!
//! - a local file a profile puts on the ISO (`isoImage.contents`) is added to the store by its
//!   bytes: changing it rebuilds the ISO, and an unchanged one builds nothing;
//! - kiln's own environment (`SOURCE_DATE_EPOCH`, `TZ`, `LC_ALL`, `RAYON_NUM_THREADS`, the
//!   working directory) changes neither a key nor a byte: the same build is a no-op, and the
//!   initrd, the live root's layers and the ISO rebuilt under it (`--check`) have the same bytes.

use kiln_testkit::workspace;
use std::path::Path;
use std::process::Command;
use std::sync::Mutex;

const KILN: &str = env!("CARGO_BIN_EXE_kiln");

/// The tests share one store; builds of the same steps must not overlap.
static STORE: Mutex<()> = Mutex::new(());

use kiln_testkit::shared_store as store;

/// `kiln ARGS` in `cwd` with extra environment; (stdout, stderr), asserting success.
fn kiln(cwd: &Path, env: &[(&str, &str)], args: &[&str]) -> (String, String) {
    let out = Command::new(KILN)
        .args(args)
        .current_dir(cwd)
        .env("KILN_STORE", store())
        .envs(env.iter().copied())
        .output()
        .expect("run kiln");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "kiln {args:?} failed:\n{stderr}");
    (stdout, stderr)
}

/// A profile in a directory of its own: the minimal installer with `payload.txt` on the ISO,
/// and a copy of the profile library's lock (so `--locked` builds need no resolution).
fn profile_dir() -> kiln_testkit::TempDir {
    let dir = kiln_testkit::tempdir().unwrap();
    std::fs::copy(
        workspace().join("profiles/kiln.lock"),
        dir.path().join("kiln.lock"),
    )
    .unwrap();
    let minimal = workspace().join("profiles/installer/cd-dvd/installation-cd-minimal.nix");
    std::fs::write(
        dir.path().join("profile.nix"),
        format!(
            "{{ ... }}: {{\n  imports = [ {} ];\n  isoImage.contents = [ {{ source = ./payload.txt; target = \"/payload.txt\"; }} ];\n}}\n",
            minimal.display()
        ),
    )
    .unwrap();
    dir
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

#[test]
fn a_changed_local_file_rebuilds_the_iso_and_an_unchanged_one_does_not() {
    if !kiln_testkit::slow("a changed local file rebuilds the ISO", &[]) {
        return;
    }
    let _store = STORE.lock().unwrap_or_else(|e| e.into_inner());
    let dir = profile_dir();
    let payload = dir.path().join("payload.txt");
    let iso = dir.path().join("result/iso/kiln-installer-minimal.iso");
    let build = || kiln(dir.path(), &[], &["build", "--locked", "profile.nix"]);

    // A nonce, so the store (which persists between runs) has neither ISO yet.
    let nonce = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    std::fs::write(&payload, format!("kiln-payload-first-version {nonce}\n")).unwrap();
    let (first_path, _) = build();
    assert!(contains(
        &std::fs::read(&iso).unwrap(),
        "kiln-payload-first-version"
    ));

    let (again, stderr) = build();
    assert_eq!(again, first_path);
    assert!(stderr.contains("nothing to build"), "{stderr}");

    std::fs::write(&payload, format!("kiln-payload-second-version {nonce}\n")).unwrap();
    let (second_path, stderr) = build();
    assert_ne!(second_path, first_path, "a changed input is a new ISO");
    assert!(!stderr.contains("nothing to build"), "{stderr}");
    let bytes = std::fs::read(&iso).unwrap();
    assert!(contains(&bytes, "kiln-payload-second-version"));
    assert!(!contains(&bytes, "kiln-payload-first-version"));
}

#[test]
fn the_environment_changes_neither_keys_nor_bytes() {
    if !kiln_testkit::slow("the environment changes neither keys nor bytes", &[]) {
        return;
    }
    let _store = STORE.lock().unwrap_or_else(|e| e.into_inner());
    let dir = profile_dir();
    std::fs::write(dir.path().join("payload.txt"), "kiln-payload-env\n").unwrap();
    let profile = dir.path().join("profile.nix");
    let profile = profile.to_str().unwrap();
    let (path, _) = kiln(
        dir.path(),
        &[],
        &["build", "--locked", "--no-link", profile],
    );

    let odd = [
        ("SOURCE_DATE_EPOCH", "1700000000"),
        ("TZ", "Pacific/Chatham"),
        ("LC_ALL", "de_DE.UTF-8"),
        ("RAYON_NUM_THREADS", "1"),
    ];
    let elsewhere = Path::new("/");
    let (same, stderr) = kiln(
        elsewhere,
        &odd,
        &["build", "--locked", "--no-link", profile],
    );
    assert_eq!(same, path, "the same key under another environment");
    assert!(stderr.contains("nothing to build"), "{stderr}");

    for attr in [
        "config.system.build.initialRamdisk",
        "config.system.build.debianRoot",
        "config.system.build.kernelLayer",
        "config.system.build.systemLayer",
        "config.system.build.isoImage",
    ] {
        let (_, stderr) = kiln(
            elsewhere,
            &odd,
            &["build", "--locked", "--check", "-A", attr, profile],
        );
        assert!(
            stderr.contains(": reproducible (rebuilt in"),
            "{attr} under another environment:\n{stderr}"
        );
    }
}
