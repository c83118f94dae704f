//! What the image test binaries share: the independent readers (xorriso, isoinfo, fsck.vfat,
//! mtools, unsquashfs, QEMU), used under `KILN_SLOW_TESTS=1` and skipped with a reason
//! otherwise (`kiln_testkit::slow`).
#![allow(dead_code)] // each test binary uses a part

use std::process::Command;

/// The tool as a command, when slow tests run and it is installed (see `kiln_testkit::slow`).
pub(crate) fn tool(name: &str) -> Option<Command> {
    kiln_testkit::slow(&format!("checking against {name}"), &[name]).then(|| Command::new(name))
}

/// Runs a command that must succeed; its standard output.
pub(crate) fn run_bytes(mut cmd: Command) -> Vec<u8> {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// [`run_bytes`] as text.
pub(crate) fn run(cmd: Command) -> String {
    String::from_utf8_lossy(&run_bytes(cmd)).into_owned()
}
