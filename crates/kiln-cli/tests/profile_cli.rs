//! The profile commands end to end: `kiln eval` on a profile (the issue's acceptance check),
//! `-I kiln-config=`, `kiln options`, `kiln explain`, packages as store paths from the lock,
//! and module errors as reports. Each runs the binary from a directory outside the checkout,
//! so the embedded profile library is what it uses, with a store of its own.

use std::path::PathBuf;
use std::process::Command;

use kiln_testkit::workspace as root;

fn profile(name: &str) -> String {
    root()
        .join("profiles/installer/cd-dvd")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

/// The store these tests evaluate against (evaluation computes paths; it builds nothing).
fn store() -> PathBuf {
    std::env::temp_dir().join(format!("kiln-profile-cli-store-{}", std::process::id()))
}

/// (stdout, stderr, success) of `kiln ARGS`, run in the temporary directory.
fn kiln(args: &[&str]) -> (String, String, bool) {
    let out = Command::new(env!("CARGO_BIN_EXE_kiln"))
        .args(args)
        .current_dir(std::env::temp_dir())
        .env_remove("NIX_PATH")
        .env("KILN_STORE", store())
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        out.status.success(),
    )
}

#[test]
fn macbook_kernel_modules_as_json() {
    let macbook = profile("installation-cd-graphical-gnome-macbook.nix");
    let (stdout, stderr, ok) = kiln(&[
        "eval",
        "--json",
        "-A",
        "config.boot.kernelModules",
        &macbook,
    ]);
    assert!(ok, "{stderr}");
    assert_eq!(stdout, r#"["kvm-intel","wl","loop","atkbd"]"#);
}

#[test]
fn kiln_config_and_nixos_config_name_the_profile() {
    for prefix in ["kiln-config", "nixos-config"] {
        let include = format!("{prefix}={}", profile("installation-cd-minimal.nix"));
        let (stdout, stderr, ok) = kiln(&["eval", "-I", &include, "-A", "config.isoImage.isoName"]);
        assert!(ok, "{stderr}");
        assert_eq!(stdout, "\"kiln-installer-minimal.iso\"\n");
    }
}

#[test]
fn explain_and_options_on_the_default_profile() {
    let (stdout, stderr, ok) = kiln(&["explain", "boot.loader.timeout"]);
    assert!(ok, "{stderr}");
    assert!(stdout.contains("value: 10"), "{stdout}");
    assert!(
        stdout.contains("why: mkImageMediaOverride (60)"),
        "{stdout}"
    );
    let (stdout, stderr, ok) = kiln(&["options", "boot.kernelModules", "--json"]);
    assert!(ok, "{stderr}");
    assert!(stdout.contains("\"type\": \"list of string\""), "{stdout}");
    let (stdout, _, ok) = kiln(&["options", "isoImage"]);
    assert!(ok);
    assert!(
        stdout.contains("isoImage.volumeID\n  type: string matching the pattern"),
        "{stdout}"
    );
}

#[test]
fn a_conflict_is_a_report_naming_both_definitions() {
    let dir = std::env::temp_dir().join(format!("kiln-profile-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("conflict.nix");
    let text = format!(
        "{{ ... }}:\n{{\n  imports = [ {} ];\n  isoImage.makeEfiBootable = false;\n}}\n",
        profile("installation-cd-minimal.nix")
    );
    std::fs::write(&file, text).unwrap();
    let (_, stderr, ok) = kiln(&[
        "eval",
        "-A",
        "config.isoImage.makeEfiBootable",
        &file.to_string_lossy(),
    ]);
    std::fs::remove_dir_all(&dir).ok();
    assert!(!ok);
    assert!(stderr.contains("kiln::module::conflict"), "{stderr}");
    assert!(stderr.contains("installation-cd-base.nix:12"), "{stderr}");
    assert!(stderr.contains("conflict.nix:4"), "{stderr}");
    assert!(stderr.contains("conflicting definition: false"), "{stderr}");
    assert!(
        !stderr.contains("Error:") && !stderr.contains("panicked"),
        "{stderr}"
    );
}

/// Packages are Debian's, pinned by the profile's lock: their out paths are store paths of
/// kiln's store, as `nix-instantiate --eval` prints `/nix/store` paths of derivations.
#[test]
fn packages_are_store_paths_pinned_by_the_lock() {
    let minimal = profile("installation-cd-minimal.nix");
    let (stdout, stderr, ok) = kiln(&[
        "eval",
        "--strict",
        "--json",
        "-A",
        "config.environment.systemPackages",
        &minimal,
    ]);
    assert!(ok, "{stderr}");
    let store = std::fs::canonicalize(store()).unwrap();
    let prefix = format!("[\"{}/", store.display());
    assert!(stdout.starts_with(&prefix), "{stdout}");
    assert!(stdout.contains("-busybox-static-1_1.35.0"), "{stdout}");
}

/// The issue's acceptance check: `boot.extraModulePackages` of the macbook profile is the
/// out path of the `wl` module's derivation, and `kiln explain` shows where it was set.
#[test]
fn macbook_extra_module_packages_evaluate_and_explain() {
    let macbook = profile("installation-cd-graphical-gnome-macbook.nix");
    let (stdout, stderr, ok) = kiln(&[
        "eval",
        "--json",
        "-A",
        "config.boot.extraModulePackages",
        &macbook,
    ]);
    assert!(ok, "{stderr}");
    let store = std::fs::canonicalize(store()).unwrap();
    assert!(
        stdout.starts_with(&format!("[\"{}/", store.display()))
            && stdout.contains("-broadcom-sta-6.1.0-"),
        "{stdout}"
    );
    let (stdout, stderr, ok) = kiln(&["explain", "boot.extraModulePackages", &macbook]);
    assert!(ok, "{stderr}");
    assert!(
        stdout.contains("installation-cd-graphical-gnome-macbook.nix")
            && stdout.contains("broadcom-sta-6.1.0-"),
        "{stdout}"
    );
}

/// A package the lock lacks: evaluation never adds to the lock, and says what does. (On a
/// store that has Debian's package list, the error is `kiln::debian::lock_missing` with the
/// same advice; the driver's tests cover that.)
#[test]
fn an_unlocked_package_says_kiln_lock_adds_it() {
    let dir = std::env::temp_dir().join(format!("kiln-unlocked-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(root().join("profiles/kiln.lock"), dir.join("kiln.lock")).unwrap();
    let file = dir.join("profile.nix");
    let text = format!(
        "{{ pkgs, ... }}: {{ imports = [ {} ]; environment.systemPackages = [ pkgs.hello ]; }}\n",
        profile("installation-cd-minimal.nix")
    );
    std::fs::write(&file, text).unwrap();
    let file = file.to_string_lossy().into_owned();
    let (_, stderr, ok) = kiln(&[
        "eval",
        "--json",
        "-A",
        "config.environment.systemPackages",
        &file,
    ]);
    assert!(!ok);
    // A fresh store has no package list: `pkgs` holds the lock's names, and the help says why.
    assert!(
        stderr.contains("`hello`") && stderr.contains("`kiln lock"),
        "{stderr}"
    );
    let lock = std::fs::read_to_string(dir.join("kiln.lock")).unwrap();
    assert!(
        !lock.contains("name = hello\n"),
        "evaluation wrote the lock"
    );
}

#[test]
fn a_plain_set_profile_is_recognised_by_its_selection() {
    let dir = std::env::temp_dir().join(format!("kiln-profile-set-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("set.nix");
    let text = format!(
        "{{ imports = [ {} ]; networking.hostName = \"lab\"; }}\n",
        profile("installation-cd-minimal.nix")
    );
    std::fs::write(&file, text).unwrap();
    let file = file.to_string_lossy().into_owned();
    let (stdout, stderr, ok) = kiln(&["eval", "-A", "config.networking.hostName", &file]);
    let (explained, _, explain_ok) = kiln(&["explain", "networking.hostName", &file]);
    std::fs::remove_dir_all(&dir).ok();
    assert!(ok, "{stderr}");
    assert_eq!(stdout, "\"lab\"\n");
    assert!(explain_ok);
    assert!(explained.contains("why: plain (100) at "), "{explained}");
}
