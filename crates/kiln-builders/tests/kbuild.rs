//! The `kbuild-module` builder's bad input: malformed inputs fail before anything is built or
//! run. The real build (Broadcom's `wl.ko` from bookworm's `broadcom-sta-dkms`, compiled in
//! the sandbox with Debian's gcc-12) is `kiln-cli`'s boot test, through the macbook profile.

use kiln_builders::{Registry, KBUILD_MODULE};
use kiln_store::{Derivation, Quiet};
use std::fs;
use std::path::{Path, PathBuf};

fn kbuild_drv(src: &Path, root: &Path, version: &str) -> Derivation {
    let mut drv = Derivation::new(format!("test-module-{version}"), KBUILD_MODULE);
    drv.env.insert("src".into(), src.display().to_string());
    drv.env.insert("root".into(), root.display().to_string());
    drv.env.insert("modDirVersion".into(), version.into());
    drv.env
        .insert("SOURCE_DATE_EPOCH".into(), "315532800".into());
    drv
}

/// Builds `drv` with its `src` and `root` as its inputs; the error as text.
fn build(drv: &Derivation, out: &Path) -> Result<(), String> {
    let inputs: Vec<PathBuf> = ["src", "root"]
        .iter()
        .filter_map(|key| drv.env.get(*key))
        .flat_map(|value| value.split_whitespace().map(PathBuf::from))
        .collect();
    let registry = Registry::new(Default::default());
    let builders = registry.builders();
    builders[KBUILD_MODULE]
        .build(drv, &inputs, out, &Quiet)
        .map_err(|e| e.to_string())
}

fn write(path: &Path, text: &str) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, text).unwrap();
}

#[test]
fn missing_src_is_a_clear_error_and_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let root = dir.path().join("root");
    fs::create_dir(&root).unwrap();
    let drv = kbuild_drv(&dir.path().join("nope"), &root, "6.1.0-28-amd64");
    let err = build(&drv, &out).unwrap_err();
    assert!(
        err.contains("attribute `src`") && err.contains("nope"),
        "{err}"
    );
    assert!(!out.exists());

    let mut drv = kbuild_drv(dir.path(), &root, "6.1.0-28-amd64");
    drv.env.remove("src");
    let err = build(&drv, &out).unwrap_err();
    assert!(err.contains("missing field `src`"), "{err}");
    assert!(!out.exists());
}

#[test]
fn src_without_dkms_conf_is_a_clear_error_and_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    write(
        &src.join("usr/src/thing-1.0/Makefile"),
        "obj-m += thing.o\n",
    );
    let out = dir.path().join("out");
    let root = dir.path().join("root");
    fs::create_dir(&root).unwrap();
    let err = build(&kbuild_drv(&src, &root, "6.1.0-28-amd64"), &out).unwrap_err();
    assert!(err.contains("no `usr/src/*/dkms.conf`"), "{err}");
    assert!(err.contains("not an unpacked DKMS package"), "{err}");
    assert!(!out.exists());
}
