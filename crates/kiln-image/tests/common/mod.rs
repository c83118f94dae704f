//! What the image test binaries share: the independent readers (xorriso, isoinfo, fsck.vfat,
//! mtools, unsquashfs, QEMU), used under `KILN_SLOW_TESTS=1` or `CI`, and skipped with a
//! reason otherwise.
#![allow(dead_code)] // each test binary uses a part

use std::process::Command;

/// The Debian package that provides `tool`, for the error message.
fn package(tool: &str) -> &str {
    match tool {
        "isoinfo" => "genisoimage",
        "fsck.vfat" | "mkfs.vfat" => "dosfstools",
        "mdir" | "mtype" | "mcopy" | "mmd" | "mlabel" => "mtools",
        "unsquashfs" | "mksquashfs" => "squashfs-tools",
        "qemu-system-x86_64" => "qemu-system-x86",
        other => other,
    }
}

/// Runs a tool, or explains the skip. With `KILN_SLOW_TESTS=1` or `CI` set, a missing tool is a
/// failure.
pub(crate) fn tool(name: &str) -> Option<Command> {
    let slow = std::env::var("KILN_SLOW_TESTS").is_ok_and(|v| v == "1")
        || std::env::var_os("CI").is_some();
    let found = Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {name}"))
        .output()
        .is_ok_and(|o| o.status.success());
    match (slow, found) {
        (false, _) => {
            eprintln!("skipped: set KILN_SLOW_TESTS=1 to check against {name}");
            None
        }
        (true, false) => panic!(
            "KILN_SLOW_TESTS=1 or CI is set but `{name}` is not installed (apt-get install {})",
            package(name)
        ),
        (true, true) => Some(Command::new(name)),
    }
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
