//! Boot tests: `kiln build tests/image/macbook-test.nix`, as a user runs it, then the ISO is booted
//! in QEMU (TCG) four ways — CD and USB stick, on BIOS and on UEFI (OVMF) — and checked over the
//! serial console: `wl` and `cfg80211` loaded, `firmware-brcm80211`'s files in `/lib/firmware/brcm`,
//! the medium labelled with the profile's volume ID, `/` an overlay on the mounted squashfs, and
//! `lspci` (pciutils) and `iw` running from the live root. Also: the same ISO rebuilt on one thread
//! has the same bytes (`kiln build --check`).
//!
//! They run under `KILN_SLOW_TESTS=1` (CI sets it, and then a missing tool is a failure); outside
//! it they are skipped with a reason. The store is `$KILN_STORE` when set, else
//! `target/kiln-test-store`, so packages are downloaded once.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

const KILN: &str = env!("CARGO_BIN_EXE_kiln");
const PROFILE: &str = "tests/image/macbook-test.nix";
const VOLUME_ID: &str = "KILN_MACBOOK-TEST";
const OVMF_CODE: &str = "/usr/share/OVMF/OVMF_CODE_4M.fd";
const OVMF_VARS: &str = "/usr/share/OVMF/OVMF_VARS_4M.fd";

use kiln_testkit::workspace;

fn store() -> PathBuf {
    std::env::var_os("KILN_STORE")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("target/kiln-test-store"))
}

/// Whether slow tests run (`kiln_testkit::slow`); QEMU and OVMF's firmware are needed too.
fn slow(tools: &[&str]) -> bool {
    let mut all = vec!["qemu-system-x86_64"];
    all.extend_from_slice(tools);
    if !kiln_testkit::slow("boot test", &all) {
        return false;
    }
    for file in [OVMF_CODE, OVMF_VARS] {
        assert!(
            Path::new(file).exists(),
            "KILN_SLOW_TESTS=1 but {file} is missing (apt-get install ovmf)"
        );
    }
    true
}

fn kiln(args: &[&str]) -> String {
    let out = Command::new(KILN)
        .args(args)
        .current_dir(workspace())
        .env("KILN_STORE", store())
        .output()
        .expect("run kiln");
    assert!(
        out.status.success(),
        "kiln {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 output")
}

/// The ISO, built once per test run (`--locked`: the test profile's lock must be complete).
fn iso() -> &'static Path {
    static ISO: OnceLock<PathBuf> = OnceLock::new();
    ISO.get_or_init(|| {
        let link = workspace().join("target/boot-test-result");
        let link = link.to_str().expect("utf-8 path");
        kiln(&["build", "--locked", "-o", link, PROFILE]);
        let iso = Path::new(link).join("iso/kiln-installer-macbook-test.iso");
        assert!(iso.is_file(), "{} missing", iso.display());
        iso
    })
}

/// The files `firmware-brcm80211` ships under `lib/firmware/brcm`.
fn brcm_firmware() -> Vec<String> {
    let paths = kiln(&[
        "build",
        "--locked",
        "--no-link",
        "-A",
        "config.hardware.firmware",
        PROFILE,
    ]);
    let package = paths
        .lines()
        .find(|p| p.contains("-firmware-brcm80211-"))
        .expect("firmware-brcm80211 in hardware.firmware");
    let mut names: Vec<String> = std::fs::read_dir(Path::new(package).join("lib/firmware/brcm"))
        .expect("brcm firmware dir")
        .map(|e| {
            e.expect("dir entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    names.sort();
    names
}

/// One QEMU at a time: two cores, and TCG is CPU-bound.
static QEMU: Mutex<()> = Mutex::new(());

struct Vm {
    child: Child,
    stdin: ChildStdin,
    output: Arc<Mutex<Vec<u8>>>,
    label: String,
    _vars: Option<tempfile::NamedTempFile>,
}

impl Vm {
    fn boot(label: &str, uefi: bool, usb: bool) -> Vm {
        let iso = iso();
        let mut cmd = Command::new("qemu-system-x86_64");
        cmd.args([
            "-m",
            "1024",
            "-display",
            "none",
            "-monitor",
            "none",
            "-serial",
            "stdio",
            "-no-reboot",
        ]);
        let mut vars = None;
        if uefi {
            let copy = tempfile::NamedTempFile::new().expect("temp file");
            std::fs::copy(OVMF_VARS, copy.path()).expect("copy OVMF vars");
            cmd.arg("-drive")
                .arg(format!("if=pflash,format=raw,readonly=on,file={OVMF_CODE}"));
            cmd.arg("-drive").arg(format!(
                "if=pflash,format=raw,file={}",
                copy.path().display()
            ));
            vars = Some(copy);
        }
        if usb {
            cmd.arg("-drive").arg(format!(
                "if=none,id=stick,format=raw,readonly=on,file={}",
                iso.display()
            ));
            cmd.args([
                "-device",
                "qemu-xhci",
                "-device",
                "usb-storage,drive=stick,bootindex=0",
            ]);
        } else {
            cmd.arg("-drive")
                .arg(format!("media=cdrom,readonly=on,file={}", iso.display()));
        }
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start qemu");
        let stdin = child.stdin.take().expect("stdin");
        let mut stdout = child.stdout.take().expect("stdout");
        let output = Arc::new(Mutex::new(Vec::new()));
        let sink = output.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = stdout.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        });
        Vm {
            child,
            stdin,
            output,
            label: label.to_string(),
            _vars: vars,
        }
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.output.lock().unwrap()).into_owned()
    }

    /// Waits until the console output after `from` contains `needle`; returns where it ends.
    fn wait_for(&self, needle: &str, from: usize, timeout: Duration) -> usize {
        let deadline = Instant::now() + timeout;
        loop {
            let text = self.text();
            if let Some(at) = text.get(from..).and_then(|t| t.find(needle)) {
                return from + at + needle.len();
            }
            assert!(
                Instant::now() < deadline,
                "{}: no `{needle}` on the serial console within {timeout:?}; it said:\n{}",
                self.label,
                &text[text.len().saturating_sub(4000)..]
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Runs a shell command on the serial console and returns what it printed.
    fn run(&mut self, command: &str) -> String {
        let n = self.text().len();
        // Markers around the output, split with '' in the command so that the echo of the
        // command line (which the line editor may wrap) never matches them.
        writeln!(
            self.stdin,
            "printf 'BE''GIN{n}\\n'; {command}; printf '\\nEN''D{n}\\n'"
        )
        .expect("write to the console");
        self.stdin.flush().expect("flush");
        // The tty turns "\n" into "\r\n".
        let begin = self.wait_for(&format!("BEGIN{n}\r\n"), n, Duration::from_secs(60));
        let end = self.wait_for(&format!("\nEND{n}"), begin - 1, Duration::from_secs(60));
        let text = self.text();
        let out = text[begin..end - format!("\nEND{n}").len()].replace('\r', "");
        out.strip_suffix('\n').unwrap_or(&out).to_string()
    }
}

impl Drop for Vm {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn boot_and_check(label: &str, uefi: bool, usb: bool) {
    let tools = ["qemu-system-x86_64"];
    if !slow(&tools) {
        return;
    }
    let expected_firmware = brcm_firmware();
    let _one = QEMU
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let started = Instant::now();
    let mut vm = Vm::boot(label, uefi, usb);
    let at = vm.wait_for("stage 2: root shells", 0, Duration::from_secs(300));
    vm.wait_for("# ", at, Duration::from_secs(60));
    eprintln!("{label}: shell after {:.1?}", started.elapsed());

    let modules = vm.run("cut -d' ' -f1 /proc/modules | sort | tr '\\n' ' '");
    let loaded: Vec<&str> = modules.split_whitespace().collect();
    for module in ["wl", "cfg80211"] {
        assert!(
            loaded.contains(&module),
            "{label}: `{module}` not loaded; /proc/modules has {loaded:?}"
        );
    }
    let listed = vm.run("ls -1 /lib/firmware/brcm");
    let listed: Vec<&str> = listed.lines().map(str::trim).collect();
    // Other firmware packages add to the directory (Broadcom Bluetooth files); all of
    // firmware-brcm80211's must be there.
    let missing: Vec<&String> = expected_firmware
        .iter()
        .filter(|f| !listed.contains(&f.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "{label}: firmware-brcm80211 files missing from /lib/firmware/brcm: {missing:?}"
    );
    let device = vm.run(&format!("findfs LABEL={VOLUME_ID}"));
    let device = device.trim();
    assert!(
        device.starts_with("/dev/"),
        "{label}: no device labelled {VOLUME_ID}: {device:?}"
    );
    // The primary volume descriptor (sector 16) holds the volume ID at byte 40 (ECMA-119 8.4.6).
    let pvd = vm.run(&format!("dd if={device} bs=1 skip=32769 count=5 2>/dev/null; echo; dd if={device} bs=1 skip=32808 count=32 2>/dev/null"));
    let mut pvd = pvd.lines();
    assert_eq!(
        pvd.next().map(str::trim),
        Some("CD001"),
        "{label}: {device} is not ISO 9660"
    );
    assert_eq!(
        pvd.next().map(str::trim),
        Some(VOLUME_ID),
        "{label}: {device}'s volume ID"
    );
    let mounted = vm.run("grep ' /iso ' /proc/mounts");
    assert!(
        mounted.starts_with(device),
        "{label}: /iso is not {device}: {mounted}"
    );

    // The live root: an overlay on the squashfs, with the profile's Debian tools.
    let mounts = vm.run("cat /proc/mounts");
    assert!(
        mounts.lines().any(|l| l.starts_with("overlay / overlay ")),
        "{label}: / is not an overlay:\n{mounts}"
    );
    assert!(
        mounts
            .lines()
            .any(|l| l.contains(" /run/kiln/squashfs squashfs ")),
        "{label}: the squashfs is not mounted:\n{mounts}"
    );
    let lspci = vm.run("command -v lspci; lspci | head -3");
    assert!(
        lspci.starts_with("/usr/bin/lspci\n"),
        "{label}: lspci is not pciutils': {lspci}"
    );
    assert!(
        lspci.contains("Host bridge"),
        "{label}: lspci printed no devices: {lspci}"
    );
    let iw = vm.run("command -v iw; iw --version");
    assert!(iw.contains("iw version"), "{label}: iw does not run: {iw}");
    // Stage 2 loaded the NIC's driver and ran udhcpc: QEMU's user network leases 10.0.2.15.
    let mut addresses = String::new();
    for _ in 0..30 {
        addresses = vm.run("ip -4 addr");
        if addresses.contains("10.0.2.15") {
            break;
        }
        std::thread::sleep(Duration::from_secs(1));
    }
    assert!(
        addresses.contains("10.0.2.15"),
        "{label}: no DHCP lease: {addresses}"
    );
}

#[test]
fn boots_from_cd_on_bios() {
    boot_and_check("cd-bios", false, false);
}

#[test]
fn boots_from_cd_on_uefi() {
    boot_and_check("cd-uefi", true, false);
}

#[test]
fn boots_from_usb_on_bios() {
    boot_and_check("usb-bios", false, true);
}

#[test]
fn boots_from_usb_on_uefi() {
    boot_and_check("usb-uefi", true, true);
}

/// The ISO's bytes do not depend on the thread count: rebuilding it on one thread
/// (`kiln build --check`) gives what the store holds.
#[test]
fn iso_is_reproducible_across_thread_counts() {
    if !slow(&[]) {
        return;
    }
    iso();
    let out = Command::new(KILN)
        .args(["build", "--locked", "--check", "--no-link", PROFILE])
        .current_dir(workspace())
        .env("KILN_STORE", store())
        .env("RAYON_NUM_THREADS", "1")
        .output()
        .expect("run kiln");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "kiln build --check failed:\n{stderr}");
    assert!(
        stderr.contains(": reproducible (rebuilt in"),
        "no verdict from --check:\n{stderr}"
    );
}

/// A misspelt initrd module, as a user meets it: the build fails in the initrd step, naming the
/// module and the closest real ones, and leaves no `result`.
#[test]
fn an_unknown_initrd_module_names_the_closest_ones() {
    if !slow(&[]) {
        return;
    }
    iso(); // the store has everything but the initrd with the typo
    let link = workspace().join("target/unknown-module-result");
    let _ = std::fs::remove_file(&link);
    let out = Command::new(KILN)
        .args(["build", "--locked", "-o"])
        .arg(&link)
        .arg("tests/image/bad/unknown-module.nix")
        .current_dir(workspace())
        .env("KILN_STORE", store())
        .output()
        .expect("run kiln");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "the build succeeded:\n{stderr}");
    assert!(
        stderr.contains("cfg80221") && stderr.contains("cfg80211"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(
        std::fs::symlink_metadata(&link).is_err(),
        "a result was linked"
    );
}

/// Issue 5's acceptance, as a user runs it: Broadcom's `wl.ko` built from source for the
/// macbook profile, a second run that builds nothing, and a clean `kiln store verify`.
#[test]
fn broadcom_sta_builds_then_rebuild_is_a_no_op_and_the_store_verifies() {
    if !slow(&["bwrap"]) {
        return;
    }
    let macbook = "profiles/installer/cd-dvd/installation-cd-graphical-gnome-macbook.nix";
    let link = workspace().join("target/wl-result");
    let link = link.to_str().expect("utf-8 path");
    let args = [
        "build",
        "--locked",
        "-o",
        link,
        "-A",
        "config.boot.kernelPackages.broadcom_sta",
        macbook,
    ];
    kiln(&args);
    let modules = std::fs::read_dir(Path::new(link).join("lib/modules"))
        .expect("result/lib/modules")
        .map(|e| e.expect("dir entry").path())
        .collect::<Vec<_>>();
    assert_eq!(modules.len(), 1, "one kernel version: {modules:?}");
    let wl = modules[0].join("extra/wl.ko");
    assert!(wl.is_file(), "{} missing", wl.display());

    let again = Command::new(KILN)
        .args(args)
        .current_dir(workspace())
        .env("KILN_STORE", store())
        .output()
        .expect("run kiln");
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(
        again.status.success() && stderr.contains("nothing to build"),
        "second run:\n{stderr}"
    );

    let verify = Command::new(KILN)
        .args(["store", "verify"])
        .env("KILN_STORE", store())
        .output()
        .expect("run kiln");
    let stderr = String::from_utf8_lossy(&verify.stderr);
    assert!(
        verify.status.success() && stderr.contains("no damage"),
        "kiln store verify:\n{stderr}"
    );
}
