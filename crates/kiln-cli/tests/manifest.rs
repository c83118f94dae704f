//! What is in an image, as a user asks: `kiln diff` of two package manifests (golden files under
//! `tests/diff/`) and its errors, `kiln completions` and `kiln man`; and, slow (they build the
//! minimal installer into `$KILN_STORE` or `target/kiln-test-store`):
//!
//! - the ISO step writes `NAME.manifest.json` and `NAME.spdx.json` beside the ISO; the SBOM
//!   passes the independent SPDX validator (`pyspdxtools`, Python's `spdx-tools`, which
//!   `.ci/run` installs), describes the ISO by its real SHA-256 and lists every package of the
//!   manifest; the manifest's `base` packages are exactly those dpkg's status file in the ISO's
//!   base layer says are installed; a rebuild (`--check`) gives the same bytes; and the
//!   profile's manifest, built without the ISO, is the ISO's (`kiln diff` finds no change);
//! - `kiln diff` of two profiles that differ by one package (`tests/image/diff/`).

use kiln_testkit::{expect, redact, workspace};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

const KILN: &str = env!("CARGO_BIN_EXE_kiln");

/// `kiln ARGS` in the workspace: (stdout, stderr, success).
fn kiln(args: &[&str]) -> (String, String, bool) {
    let out = Command::new(KILN)
        .args(args)
        .current_dir(workspace())
        .env("KILN_STORE", store())
        .output()
        .expect("run kiln");
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        out.status.success(),
    )
}

use kiln_testkit::shared_store as store;

#[test]
fn diff_of_two_manifests_matches_the_golden_files() {
    let mut failures = Vec::new();
    for (old, new, expected) in [
        ("old", "new", "old-new.out"),
        ("new", "old", "new-old.out"),
        ("old", "old", "old-old.out"),
    ] {
        let old = format!("tests/diff/{old}.manifest.json");
        let new = format!("tests/diff/{new}.manifest.json");
        let (stdout, stderr, ok) = kiln(&["diff", &old, &new]);
        assert!(ok, "kiln diff {old} {new}: {stderr}");
        failures.extend(expect(&workspace().join("tests/diff").join(expected), &stdout).err());
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn diff_of_bad_input_is_a_diagnostic() {
    let mut failures = Vec::new();
    for (case, args) in [
        (
            "missing",
            [
                "tests/diff/no-such.manifest.json",
                "tests/diff/new.manifest.json",
            ],
        ),
        (
            "not-a-manifest",
            [
                "tests/diff/err/not-a-manifest.json",
                "tests/diff/new.manifest.json",
            ],
        ),
        (
            "unsorted",
            [
                "tests/diff/old.manifest.json",
                "tests/diff/err/unsorted.manifest.json",
            ],
        ),
    ] {
        let (stdout, stderr, ok) = kiln(&["diff", args[0], args[1]]);
        assert!(!ok, "{case}: kiln diff succeeded:\n{stdout}");
        assert!(stdout.is_empty(), "{case}: {stdout}");
        assert!(!stderr.contains("panicked"), "{case}: {stderr}");
        let path = workspace().join(format!("tests/diff/err/{case}.diag"));
        failures.extend(expect(&path, &redact(&stderr)).err());
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn completions_and_the_manual_come_from_the_command_line() {
    for shell in ["bash", "zsh", "fish"] {
        let (stdout, stderr, ok) = kiln(&["completions", shell]);
        assert!(ok, "{shell}: {stderr}");
        for command in ["build", "diff", "completions", "man"] {
            assert!(
                stdout.contains(command),
                "{shell}: no `{command}` in\n{stdout}"
            );
        }
    }
    // bash itself reads the bash script.
    let (script, _, _) = kiln(&["completions", "bash"]);
    let dir = kiln_testkit::tempdir().unwrap();
    let file = dir.path().join("kiln.bash");
    std::fs::write(&file, &script).unwrap();
    let status = Command::new("bash").arg("-n").arg(&file).status().unwrap();
    assert!(status.success(), "bash -n rejects the completion script");

    let (page, _, ok) = kiln(&["man"]);
    assert!(ok);
    assert!(
        page.starts_with(".ie ") || page.contains(".TH kiln"),
        "{page}"
    );
    assert!(
        page.contains("diff") && page.contains("completions"),
        "{page}"
    );
    let (page, _, ok) = kiln(&["man", "diff"]);
    assert!(ok);
    assert!(page.contains(".TH kiln-diff"), "{page}");
    assert!(page.contains("manifest.json"), "{page}");
    let (_, stderr, ok) = kiln(&["man", "nope"]);
    assert!(!ok);
    assert!(stderr.contains("kiln::cli::no_such_command"), "{stderr}");
}

/// The minimal installer, built once for this binary's slow tests: the `result` link's target.
fn minimal_iso() -> &'static Path {
    static BUILT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BUILT.get_or_init(|| {
        let (stdout, stderr, ok) = kiln(&[
            "build",
            "--locked",
            "--no-link",
            "profiles/installer/cd-dvd/installation-cd-minimal.nix",
        ]);
        assert!(ok, "kiln build: {stderr}");
        PathBuf::from(stdout.trim())
    })
}

/// The SHA-256 of a file, by coreutils' `sha256sum` (an implementation that is not kiln's).
fn sha256sum(file: &Path) -> String {
    let out = Command::new("sha256sum").arg(file).output().unwrap();
    assert!(out.status.success());
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_string()
}

fn json(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn the_iso_has_a_manifest_and_a_valid_sbom_beside_it() {
    if !kiln_testkit::slow(
        "the ISO's manifest and SBOM",
        &["pyspdxtools", "xorriso", "unsquashfs", "sha256sum"],
    ) {
        return;
    }
    let out = minimal_iso();
    let dir = out.join("iso");
    let iso = dir.join("kiln-installer-minimal.iso");
    let manifest_path = dir.join("kiln-installer-minimal.manifest.json");
    let sbom_path = dir.join("kiln-installer-minimal.spdx.json");

    // The independent validator.
    let check = Command::new("pyspdxtools")
        .arg("-i")
        .arg(&sbom_path)
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "pyspdxtools -i {}:\n{}{}",
        sbom_path.display(),
        String::from_utf8_lossy(&check.stdout),
        String::from_utf8_lossy(&check.stderr)
    );

    let manifest = json(&manifest_path);
    let packages = manifest["packages"].as_array().unwrap();
    let sbom = json(&sbom_path);
    // The ISO is the described element, with its real hash.
    assert_eq!(
        sbom["documentDescribes"],
        serde_json::json!(["SPDXRef-Image"])
    );
    assert_eq!(sbom["creationInfo"]["created"], "1980-01-01T00:00:00Z");
    let spdx_packages = sbom["packages"].as_array().unwrap();
    let image = &spdx_packages[0];
    assert_eq!(image["SPDXID"], "SPDXRef-Image");
    assert_eq!(
        image["checksums"][0]["checksumValue"],
        sha256sum(&iso).as_str()
    );
    // Every manifest package is an SPDX package the ISO contains, with the .deb's hash.
    assert_eq!(spdx_packages.len(), packages.len() + 1);
    let contains = sbom["relationships"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["relationshipType"] == "CONTAINS" && r["spdxElementId"] == "SPDXRef-Image")
        .count();
    assert_eq!(contains, packages.len());
    for (package, spdx) in packages.iter().zip(&spdx_packages[1..]) {
        assert_eq!(package["name"], spdx["name"]);
        assert_eq!(package["version"], spdx["versionInfo"]);
        assert_eq!(package["sha256"], spdx["checksums"][0]["checksumValue"]);
        assert_eq!(package["sha256"], package["lock"]["sha256"]);
        assert_eq!(package["url"], spdx["downloadLocation"]);
    }
    let declared = packages
        .iter()
        .filter(|p| p["license"] != "NOASSERTION")
        .count();
    eprintln!(
        "{} packages, {declared} with a machine-readable licence",
        packages.len()
    );
    assert!(
        declared > packages.len() / 3,
        "{declared} of {}",
        packages.len()
    );
    let parts: BTreeSet<&str> = packages
        .iter()
        .flat_map(|p| p["parts"].as_array().unwrap())
        .filter_map(|p| p.as_str())
        .collect();
    assert_eq!(
        parts,
        BTreeSet::from(["base", "boot-loader", "initrd", "kernel"]),
        "the minimal image has no out-of-tree module"
    );

    // The manifest's base packages are what dpkg, in the ISO's base layer, says is installed.
    let scratch = kiln_testkit::tempdir().unwrap();
    let layer = scratch.path().join("base.squashfs");
    let extract = Command::new("xorriso")
        .args(["-osirrox", "on", "-indev"])
        .arg(&iso)
        .args(["-extract", "/live/base.squashfs"])
        .arg(&layer)
        .output()
        .unwrap();
    assert!(
        extract.status.success(),
        "{}",
        String::from_utf8_lossy(&extract.stderr)
    );
    let status = Command::new("unsquashfs")
        .arg("-cat")
        .arg(&layer)
        .arg("var/lib/dpkg/status")
        .output()
        .unwrap();
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    let mut installed = BTreeSet::new();
    for stanza in String::from_utf8_lossy(&status.stdout).split("\n\n") {
        let field = |name: &str| {
            stanza
                .lines()
                .find_map(|l| l.strip_prefix(&format!("{name}: ")))
                .map(str::to_string)
        };
        if field("Status").as_deref() == Some("install ok installed") {
            installed.insert((
                field("Package").unwrap(),
                field("Version").unwrap(),
                field("Architecture").unwrap(),
            ));
        }
    }
    let base: BTreeSet<(String, String, String)> = packages
        .iter()
        .filter(|p| p["parts"].as_array().unwrap().iter().any(|x| x == "base"))
        .map(|p| {
            let s = |k: &str| p[k].as_str().unwrap().to_string();
            (s("name"), s("version"), s("architecture"))
        })
        .collect();
    assert!(!installed.is_empty());
    assert_eq!(
        base.symmetric_difference(&installed).collect::<Vec<_>>(),
        Vec::<&(String, String, String)>::new(),
        "manifest (base) vs dpkg's status in live/base.squashfs"
    );

    // The same bytes when the ISO step runs again.
    let (_, stderr, ok) = kiln(&[
        "build",
        "--locked",
        "--check",
        "profiles/installer/cd-dvd/installation-cd-minimal.nix",
    ]);
    assert!(ok && stderr.contains("reproducible"), "{stderr}");

    // The profile's manifest, built without the ISO, is the ISO's.
    let manifest_arg = manifest_path.to_str().unwrap();
    let (stdout, stderr, ok) = kiln(&[
        "diff",
        "--locked",
        "profiles/installer/cd-dvd/installation-cd-minimal.nix",
        manifest_arg,
    ]);
    assert!(ok, "{stderr}");
    assert!(stdout.contains("no package changed"), "{stdout}");
}

#[test]
fn diff_of_two_profiles_that_differ_by_one_package() {
    if !kiln_testkit::slow("kiln diff of two profiles", &[]) {
        return;
    }
    let (stdout, stderr, ok) = kiln(&[
        "diff",
        "--locked",
        "tests/image/diff/minimal.nix",
        "tests/image/diff/minimal-iw.nix",
    ]);
    assert!(ok, "{stderr}");
    let path = workspace().join("tests/image/diff/minimal-iw.diff");
    if let Err(difference) = expect(&path, &stdout) {
        panic!("{difference}");
    }
}
