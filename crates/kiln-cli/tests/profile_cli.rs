//! The profile commands end to end: `kiln eval` on a profile (the issue's acceptance check),
//! `-I kiln-config=`, `kiln options`, `kiln explain`, and module errors as reports. Each runs the
//! binary from a directory outside the checkout, so the embedded profile library is what it uses.

use std::path::PathBuf;
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

fn profile(name: &str) -> String {
    root()
        .join("profiles/installer/cd-dvd")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

/// (stdout, stderr, success) of `kiln ARGS`, run in the temporary directory.
fn kiln(args: &[&str]) -> (String, String, bool) {
    let out = Command::new(env!("CARGO_BIN_EXE_kiln"))
        .args(args)
        .current_dir(std::env::temp_dir())
        .env_remove("NIX_PATH")
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
    assert_eq!(stdout, r#"["kvm-amd","kvm-intel","wl","loop","atkbd"]"#);
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
    assert!(stderr.contains("installation-cd-base.nix:11"), "{stderr}");
    assert!(stderr.contains("conflict.nix:4"), "{stderr}");
    assert!(stderr.contains("conflicting definition: false"), "{stderr}");
    assert!(
        !stderr.contains("Error:") && !stderr.contains("panicked"),
        "{stderr}"
    );
}

#[test]
fn a_package_store_path_is_a_clear_error() {
    let minimal = profile("installation-cd-minimal.nix");
    let (_, stderr, ok) = kiln(&[
        "eval",
        "--strict",
        "--json",
        "-A",
        "config.environment.systemPackages",
        &minimal,
    ]);
    assert!(!ok);
    assert!(
        stderr.contains("package `busybox-static` has no store path in this evaluation"),
        "{stderr}"
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
