//! `kiln build` as a user runs it, without the network: `--dry-run` of the test profiles from
//! their lock alone (Secure Boot's loaders and its warning among them), and bad input (a failed assertion, an illegal volume ID) rejected before anything
//! is built, with nothing left behind.

use std::path::Path;
use std::process::Command;

use kiln_testkit::workspace;

/// Runs `kiln build --offline --locked ARGS` with an empty store in `dir`.
fn build(dir: &Path, args: &[&str]) -> (String, String, bool) {
    let out = Command::new(env!("CARGO_BIN_EXE_kiln"))
        .arg("build")
        .args(["--offline", "--locked", "--store"])
        .arg(dir.join("store"))
        .arg("-o")
        .arg(dir.join("result"))
        .args(args)
        .current_dir(workspace())
        .output()
        .expect("run kiln");
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        out.status.success(),
    )
}

#[test]
fn dry_run_shows_the_closure_and_the_steps() {
    let dir = kiln_testkit::tempdir().unwrap();
    let (stdout, stderr, ok) = build(dir.path(), &["--dry-run", "tests/image/macbook-test.nix"]);
    assert!(ok, "{stderr}");
    assert!(stdout.starts_with("closure: "), "{stdout}");
    assert!(
        stdout.contains("Debian package(s)") && stdout.contains("installed"),
        "{stdout}"
    );
    for step in [
        "fetch  linux-image-",
        "kbuild-module broadcom-sta-",
        "aggregate-modules kernel-modules-",
        "initrd initrd-",
        "debian-root debian-root-",
        "kernel-layer kernel-layer-",
        "system-layer system-layer-",
        "iso    kiln-installer-macbook-test",
    ] {
        assert!(stdout.contains(step), "no `{step}` in\n{stdout}");
    }
    assert!(
        !dir.path().join("result").exists(),
        "--dry-run built something"
    );
}

#[test]
fn secure_boot_takes_debians_signed_loaders_and_warns_of_unsigned_modules() {
    let dir = kiln_testkit::tempdir().unwrap();
    // The installers boot through Debian's signed chain by default.
    let (stdout, stderr, ok) = build(
        dir.path(),
        &[
            "--dry-run",
            "profiles/installer/cd-dvd/installation-cd-minimal.nix",
        ],
    );
    assert!(ok, "{stderr}");
    for package in [
        "shim-signed_",
        "shim-helpers-amd64-signed_",
        "grub-efi-amd64-signed_",
    ] {
        assert!(
            stdout.contains(&format!("fetch  {package}")),
            "no {package} in\n{stdout}"
        );
    }
    assert!(!stdout.contains("systemd-boot-efi"), "{stdout}");
    assert!(!stderr.contains("warning"), "{stderr}");

    let (_, stderr, ok) = build(dir.path(), &["--dry-run", "tests/image/macbook-test.nix"]);
    assert!(ok, "{stderr}");
    let warning = stderr
        .lines()
        .find(|l| l.starts_with("warning: isoImage.secureBoot:"))
        .unwrap_or_else(|| panic!("no Secure Boot warning in\n{stderr}"));
    assert!(
        warning.contains("unsigned out-of-tree module(s) broadcom-sta-")
            && warning.contains("boot.moduleSigning.key")
            && warning.contains("isoImage.secureBoot = false"),
        "{warning}"
    );

    // With a key the module is signed (a step of its own, after the build) and nothing warns.
    let (stdout, stderr, ok) = build(
        dir.path(),
        &["--dry-run", "tests/image/secure-boot-macbook-signed.nix"],
    );
    assert!(ok, "{stderr}");
    assert!(!stderr.contains("warning"), "{stderr}");
    assert!(
        stdout.contains("sign-modules broadcom-sta-") && stdout.contains("-signed"),
        "no signing step in\n{stdout}"
    );

    // systemd-boot when Secure Boot's chain is off.
    let (stdout, stderr, ok) = build(dir.path(), &["--dry-run", "tests/image/options-test.nix"]);
    assert!(ok, "{stderr}");
    assert!(stdout.contains("systemd-boot-efi"), "{stdout}");
    assert!(!stdout.contains("shim-signed_"), "{stdout}");
}

#[test]
fn a_failed_assertion_stops_the_build() {
    let dir = kiln_testkit::tempdir().unwrap();
    let (_, stderr, ok) = build(dir.path(), &["tests/image/bad/no-boot-loader.nix"]);
    assert!(!ok);
    assert!(stderr.contains("kiln::driver::assertions"), "{stderr}");
    assert!(stderr.contains("the ISO must boot with BIOS"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(!dir.path().join("result").exists());
}

#[test]
fn an_etc_name_outside_etc_is_refused_before_anything_is_built() {
    let dir = kiln_testkit::tempdir().unwrap();
    let (_, stderr, ok) = build(dir.path(), &["tests/image/bad/etc-dotdot.nix"]);
    assert!(!ok);
    assert!(stderr.contains("kiln::driver::assertions"), "{stderr}");
    assert!(
        stderr.contains("environment.etc.\"../shadow\": the path must stay inside /etc"),
        "{stderr}"
    );
    assert!(!stderr.contains("building "), "{stderr}");
    assert!(!dir.path().join("result").exists());
}

#[test]
fn an_illegal_volume_id_is_a_type_error_naming_the_file() {
    let dir = kiln_testkit::tempdir().unwrap();
    let (_, stderr, ok) = build(dir.path(), &["tests/image/bad/long-volume-id.nix"]);
    assert!(!ok);
    assert!(
        stderr.contains("isoImage.volumeID") && stderr.contains("long-volume-id.nix"),
        "{stderr}"
    );
    assert!(stderr.contains("[A-Z0-9_-]{1,32}"), "{stderr}");
    assert!(!dir.path().join("result").exists());
}

/// The NixOS manual's command line, `nix-build -A config.system.build.isoImage -I
/// nixos-config=PATH`, in kiln's form: `nixos-config` names the profile.
#[test]
fn nixos_config_names_the_profile() {
    let dir = kiln_testkit::tempdir().unwrap();
    let (stdout, stderr, ok) = build(
        dir.path(),
        &[
            "--dry-run",
            "-A",
            "config.system.build.isoImage",
            "-I",
            "nixos-config=tests/image/macbook-test.nix",
        ],
    );
    assert!(ok, "{stderr}");
    assert!(
        stdout.contains("iso    kiln-installer-macbook-test"),
        "the default profile was built instead:\n{stdout}"
    );
    let (_, stderr, ok) = build(
        dir.path(),
        &[
            "--dry-run",
            "-I",
            "nixos-config=tests/image/macbook-test.nix",
            "profiles/installer/cd-dvd/installation-cd-minimal.nix",
        ],
    );
    assert!(!ok);
    assert!(stderr.contains("kiln::cli::two_profiles"), "{stderr}");
    assert!(
        stderr.contains("profile argument") && stderr.contains("macbook-test.nix"),
        "{stderr}"
    );
}
