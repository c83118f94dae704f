//! `kiln run`: the minimal ISO booted by kiln itself, as a user would try an image, until its
//! serial shell answers; the guest's `poweroff` ends kiln with success, and the store's image
//! has the same bytes afterwards (the USB stick's writes went to QEMU's throw-away overlay).
//! Without QEMU, kiln names the Debian package that has it, before building anything.
//!
//! The boot is a slow test (`KILN_SLOW_TESTS=1`, QEMU and OVMF needed); its store is
//! `$KILN_STORE` when set, else `target/kiln-test-store`, which the boot tests share.

use std::hash::Hasher;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use kiln_testkit::workspace;

#[path = "support/console.rs"]
mod console;
use console::Console;

const KILN: &str = env!("CARGO_BIN_EXE_kiln");

use kiln_testkit::shared_store as store;

#[test]
fn a_missing_qemu_is_named_with_its_debian_package() {
    let empty = kiln_testkit::tempdir().expect("temp dir");
    let out = Command::new(KILN)
        .args(["run", "--store"])
        .arg(empty.path().join("store"))
        .current_dir(workspace())
        .env("PATH", empty.path())
        .output()
        .expect("run kiln");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("`qemu-system-x86_64` is not on PATH")
            && stderr.contains("apt install qemu-system-x86")
            && stderr.contains("kiln::run::no_qemu"),
        "{stderr}"
    );
    // Nothing was built: the store was not even created.
    assert!(!empty.path().join("store").exists());
}

/// A hash of a file's bytes, for "unchanged".
fn file_hash(path: &Path) -> u64 {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    hasher.write(&std::fs::read(path).expect("read the ISO"));
    hasher.finish()
}

#[test]
fn kiln_run_boots_the_minimal_iso_to_its_serial_shell_and_ends_with_the_guest() {
    let tools = ["qemu-system-x86_64", "/usr/share/OVMF/OVMF_CODE_4M.fd"];
    let programs: Vec<&str> = tools
        .iter()
        .copied()
        .filter(|t| !t.starts_with('/'))
        .collect();
    if !kiln_testkit::slow("the kiln run boot test", &programs) {
        return;
    }
    for file in tools.iter().filter(|t| t.starts_with('/')) {
        assert!(
            Path::new(file).exists(),
            "{file} is missing (Debian's ovmf package)"
        );
    }
    let scratch = kiln_testkit::tempdir().expect("temp dir");
    let stderr_file = scratch.path().join("stderr");
    let tmp = scratch.path().join("tmp");
    std::fs::create_dir(&tmp).expect("create TMPDIR");
    let mut command = Command::new(KILN);
    command
        .args(["run", "--locked", "--uefi", "--usb", "--store"])
        .arg(store())
        .current_dir(workspace())
        .env("TMPDIR", &tmp)
        .stderr(std::fs::File::create(&stderr_file).expect("stderr file"));
    let mut vm = Console::spawn(&mut command, "kiln run --uefi --usb");
    let stderr = || std::fs::read_to_string(&stderr_file).unwrap_or_default();
    // Building the ISO (when the boot tests have not) and booting it under TCG.
    let at = vm.wait_for(
        "kiln-installer login: kiln (automatic login)",
        0,
        Duration::from_secs(1200),
    );
    vm.wait_for("kiln@kiln-installer:~$ ", at, Duration::from_secs(120));
    eprintln!("logged in after {:.1?}", vm.started.elapsed());
    let said = stderr();
    let iso = said
        .lines()
        .find_map(|line| line.strip_prefix("kiln run: booting "))
        .and_then(|rest| rest.split(" (").next())
        .map(PathBuf::from)
        .unwrap_or_else(|| panic!("kiln run named no image:\n{said}"));
    assert!(said.contains("(UEFI, USB stick)"), "{said}");
    // Either KVM works or kiln says why not, in one line.
    let notes: Vec<&str> = said.lines().filter(|l| l.contains("no KVM")).collect();
    assert!(
        notes.len() <= 1 && notes.iter().all(|l| l.contains("emulating with TCG")),
        "{said}"
    );
    let before = (
        file_hash(&iso),
        std::fs::metadata(&iso).unwrap().modified().unwrap(),
    );

    vm.run("sudo -n dmesg -n 1; export TERM=dumb");
    // A write to the stick: the guest sees it, the store's image does not.
    let disk = vm.run("lsblk -ndo NAME,TRAN | awk '$2 == \"usb\" {print $1}'");
    assert!(!disk.is_empty(), "no USB disk in the guest");
    let wrote = vm.run(&format!(
        "sudo -n dd if=/dev/zero of=/dev/{disk} bs=512 seek=1 count=8 conv=fsync status=none && echo wrote"
    ));
    assert_eq!(wrote, "wrote");
    assert_eq!(vm.run("echo $((6 * 7))"), "42");
    vm.send("sudo -n poweroff");
    let status = vm
        .wait_for_exit(Duration::from_secs(300))
        .unwrap_or_else(|| panic!("kiln run still running 300 s after poweroff:\n{}", stderr()));
    assert!(status.success(), "kiln run: {status}\n{}", stderr());
    let after = (
        file_hash(&iso),
        std::fs::metadata(&iso).unwrap().modified().unwrap(),
    );
    assert_eq!(before, after, "the store's ISO changed");
    // QEMU's overlay (in `$TMPDIR`) and the firmware's variables are gone with it.
    let left: Vec<_> = std::fs::read_dir(&tmp).expect("list TMPDIR").collect();
    assert!(left.is_empty(), "left in TMPDIR: {left:?}");
}
