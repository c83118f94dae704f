//! Boot tests: ISOs built with `kiln build`, as a user runs it, booted in QEMU (TCG) and checked
//! over the serial console, where the live user `kiln` is logged in automatically.
//!
//! - The minimal installer (`profiles/…/installation-cd-minimal.nix`), from a CD on BIOS and
//!   from a USB stick on UEFI: PID 1 is systemd, `systemctl is-system-running` says `running`
//!   (else the failed units and their logs are printed and the test fails), the live user is
//!   logged in on `ttyS0`, `sudo -n true` works, DHCP gave an address, and dpkg knows every
//!   package of `environment.systemPackages` as installed.
//! - Secure Boot (the installers' default chain: shim, GRUB): the minimal installer on OVMF
//!   enforcing it with Microsoft's keys, from CD and USB stick; and
//!   `tests/image/secure-boot-macbook-signed.nix`, whose `wl` is signed with a test key: with the
//!   certificate in shim's `MokList` (`virt-fw-vars`), `wl` loads; without, the kernel refuses it
//!   and says so; the key's bytes are in no file of the ISO or its squashfs layers.
//! - `tests/image/options-test.nix` (UEFI from a CD through systemd-boot, `isoImage.secureBoot =
//!   false`): each option people set, checked by its effect (a user and
//!   their key, groups, sudo rules, `/etc` files with their modes and owners, a unit that ran,
//!   tmpfiles, NetworkManager, the time zone, the locale, the keymap, a kernel parameter).
//! - `tests/image/macbook-test.nix` (the MacBook installer with GNOME forced off), from a CD on
//!   BIOS: a small text-mode image (no display manager, `multi-user.target`, no X or GNOME
//!   package), `wl` and `cfg80211` loaded, the drivers `wl` competes with blacklisted,
//!   `firmware-brcm80211`'s files in `/lib/firmware/brcm`, the medium labelled with the profile's
//!   volume ID, `/` an overlay of the ISO's squashfs layers. `gnome.rs` boots the MacBook
//!   installer with GNOME the four ways (BIOS and UEFI, CD and USB stick); the Broadcom checks
//!   both run are in `support/broadcom.rs`.
//! - The same minimal ISO built in a second, empty store on one thread has the same bytes.
//!
//! They run under `KILN_SLOW_TESTS=1` (CI sets it, and then a missing tool is a failure); outside
//! it they are skipped with a reason. The store is `$KILN_STORE` when set, else
//! `target/kiln-test-store`, so packages are downloaded once.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

#[path = "support/broadcom.rs"]
mod broadcom;
#[path = "support/console.rs"]
mod console;
use console::Console;

const KILN: &str = env!("CARGO_BIN_EXE_kiln");
const MINIMAL: &str = "profiles/installer/cd-dvd/installation-cd-minimal.nix";
const OPTIONS: &str = "tests/image/options-test.nix";
const MACBOOK: &str = "tests/image/macbook-test.nix";
const MACBOOK_VOLUME_ID: &str = "KILN_MACBOOK-TEST";
const OVMF_CODE: &str = "/usr/share/OVMF/OVMF_CODE_4M.fd";
const OVMF_VARS: &str = "/usr/share/OVMF/OVMF_VARS_4M.fd";
const OVMF_CODE_SECURE: &str = "/usr/share/OVMF/OVMF_CODE_4M.secboot.fd";
const OVMF_VARS_MS: &str = "/usr/share/OVMF/OVMF_VARS_4M.ms.fd";
const SIGNED_MODULES: &str = "tests/image/secure-boot-macbook-signed.nix";
const SIGNING_KEY: &str = "tests/image/keys/module-signing-test.key";
const SIGNING_CERT: &str = "tests/image/keys/module-signing-test.crt";

use kiln_testkit::workspace;

use kiln_testkit::shared_store as store;

/// Whether slow tests run (`kiln_testkit::slow`); QEMU and OVMF's firmware are needed too.
fn slow(tools: &[&str]) -> bool {
    let mut all = vec!["qemu-system-x86_64", "bwrap"];
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

fn kiln_in(store: &Path, env: &[(&str, &str)], args: &[&str]) -> String {
    let out = Command::new(KILN)
        .args(args)
        .current_dir(workspace())
        .env("KILN_STORE", store)
        .envs(env.iter().copied())
        .output()
        .expect("run kiln");
    // Progress lines are left out: CI shows the start of a failure, and the diagnostic comes last.
    let stderr = String::from_utf8_lossy(&out.stderr);
    let diagnostic: Vec<&str> = stderr
        .lines()
        .filter(|l| !l.starts_with("building ") && !l.starts_with("built "))
        .collect();
    assert!(
        out.status.success(),
        "kiln {args:?} failed:\n{}",
        diagnostic.join("\n")
    );
    String::from_utf8(out.stdout).expect("utf-8 output")
}

fn kiln(args: &[&str]) -> String {
    kiln_in(&store(), &[], args)
}

/// The profile's ISO, built once per test run (`--locked`: the profile's lock must be
/// complete), and kept for the run under `target/boot-test-<name>`.
fn iso(profile: &str) -> PathBuf {
    static BUILT: Mutex<Option<HashMap<String, PathBuf>>> = Mutex::new(None);
    let mut built = BUILT
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let built = built.get_or_insert_with(HashMap::new);
    if let Some(iso) = built.get(profile) {
        return iso.clone();
    }
    let stem = Path::new(profile)
        .file_stem()
        .and_then(|s| s.to_str())
        .expect("profile file name");
    let link = workspace().join(format!("target/boot-test-{stem}"));
    let link = link.to_str().expect("utf-8 path");
    let started = Instant::now();
    kiln(&["build", "--locked", "-o", link, profile]);
    eprintln!("{profile}: built in {:.1?}", started.elapsed());
    let dir = Path::new(link).join("iso");
    let iso = std::fs::read_dir(&dir)
        .expect("result/iso")
        .map(|e| e.expect("dir entry").path())
        .find(|p| p.extension().is_some_and(|e| e == "iso"))
        .unwrap_or_else(|| panic!("no ISO in {}", dir.display()));
    built.insert(profile.to_string(), iso.clone());
    iso
}

/// One QEMU at a time: two cores, and TCG is CPU-bound.
static QEMU: Mutex<()> = Mutex::new(());

struct Vm {
    console: Console,
    _vars: Option<tempfile::NamedTempFile>,
}

impl std::ops::Deref for Vm {
    type Target = Console;
    fn deref(&self) -> &Console {
        &self.console
    }
}

impl std::ops::DerefMut for Vm {
    fn deref_mut(&mut self) -> &mut Console {
        &mut self.console
    }
}

/// The machine's firmware.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Firmware {
    Bios,
    /// OVMF without Secure Boot.
    Uefi,
    /// OVMF enforcing Secure Boot with Microsoft's keys enrolled, as a PC from the shop: q35
    /// with SMM, which keeps the variable store out of the guest's reach.
    SecureBoot,
    /// [`Firmware::SecureBoot`] with the module-signing test certificate in shim's `MokList`,
    /// as `mokutil --import` and MokManager leave it ([`mok_vars`]).
    SecureBootMok,
}

impl Vm {
    fn start(iso: &Path, label: &str, firmware: Firmware, usb: bool) -> Vm {
        let mut cmd = Command::new("qemu-system-x86_64");
        cmd.args([
            "-m",
            "2048",
            "-smp",
            "2",
            "-display",
            "none",
            "-monitor",
            "none",
            "-serial",
            "stdio",
            "-no-reboot",
            "-nic",
            "user,model=virtio-net-pci",
        ]);
        let mut vars = None;
        if firmware != Firmware::Bios {
            let (code, template) = match firmware {
                Firmware::SecureBoot | Firmware::SecureBootMok => {
                    cmd.args(["-machine", "q35,smm=on"])
                        .args(["-global", "driver=cfi.pflash01,property=secure,value=on"]);
                    let vars = if firmware == Firmware::SecureBootMok {
                        mok_vars()
                    } else {
                        PathBuf::from(OVMF_VARS_MS)
                    };
                    (OVMF_CODE_SECURE, vars)
                }
                _ => (OVMF_CODE, PathBuf::from(OVMF_VARS)),
            };
            let copy = tempfile::NamedTempFile::new().expect("temp file");
            std::fs::copy(&template, copy.path()).expect("copy OVMF vars");
            cmd.arg("-drive")
                .arg(format!("if=pflash,format=raw,readonly=on,file={code}"));
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
        Vm {
            console: Console::spawn(cmd.stderr(Stdio::null()), label),
            _vars: vars,
        }
    }

    /// Waits for the getty's automatic login of the live user on `ttyS0` and its shell, then
    /// keeps the kernel's messages off the console (they would land inside command output).
    fn login(&mut self, host: &str, started: Instant) {
        let at = self.wait_for(
            &format!("{host} login: kiln (automatic login)"),
            0,
            Duration::from_secs(420),
        );
        self.wait_for(&format!("kiln@{host}:~$ "), at, Duration::from_secs(60));
        eprintln!("{}: logged in after {:.1?}", self.label, started.elapsed());
        self.run(
            "sudo -n dmesg -n 1; export LC_ALL=C.UTF-8 TERM=dumb SYSTEMD_COLORS=0 SYSTEMD_PAGER=; \
             bind 'set enable-bracketed-paste off'",
        );
    }
}

/// Boots `profile`'s ISO and logs in; the QEMU lock is held while the VM lives.
fn boot(
    profile: &str,
    host: &str,
    label: &str,
    uefi: bool,
    usb: bool,
) -> (Vm, std::sync::MutexGuard<'static, ()>) {
    let firmware = if uefi { Firmware::Uefi } else { Firmware::Bios };
    boot_with(profile, host, label, firmware, usb)
}

fn boot_with(
    profile: &str,
    host: &str,
    label: &str,
    firmware: Firmware,
    usb: bool,
) -> (Vm, std::sync::MutexGuard<'static, ()>) {
    let iso = iso(profile);
    let one = QEMU
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let started = Instant::now();
    let mut vm = Vm::start(&iso, label, firmware, usb);
    vm.login(host, started);
    (vm, one)
}

/// What every live system must show: systemd as PID 1, a system that reached `running` with
/// no failed unit, the live user on the serial console with sudo, and a DHCP lease.
fn check_system(vm: &mut Vm) {
    check_system_except(vm, None);
}

/// A failure the emulated machine explains: the unit, and the lines its log must hold.
struct Explained {
    unit: &'static str,
    because: &'static [&'static str],
    why: &'static str,
}

/// The MacBook profile is the NixOS manual's: `boot.kernelModules` has `kvm-intel`, which
/// QEMU's TCG cannot back (it emulates no VT-x), so loading it fails there, and only there.
const KVM_INTEL: Explained = Explained {
    unit: "systemd-modules-load.service",
    because: &["Failed to insert module 'kvm_intel': Operation not supported"],
    why: "TCG emulates no VT-x; on a MacBook kvm_intel loads",
};

/// [`check_system`], where `explained` may be the one failed unit if its log says why.
fn check_system_except(vm: &mut Vm, explained: Option<&Explained>) {
    let label = vm.label.clone();
    let pid1 = vm.run("cat /proc/1/comm; sudo -n readlink /proc/1/exe");
    assert_eq!(
        pid1, "systemd\n/usr/lib/systemd/systemd",
        "{label}: PID 1 is not systemd"
    );
    let state = vm.run("systemctl is-system-running --wait");
    if let (Some(explained), "degraded") = (explained, state.as_str()) {
        let failed = vm.run("systemctl --failed --plain --no-legend | cut -d' ' -f1");
        // The unit's messages, and its program's by their syslog identifier: journald files a
        // line under the unit only if it reads the sender's cgroup before the process exits,
        // which a short-lived one like systemd-modules-load can beat.
        let ident = explained
            .unit
            .strip_suffix(".service")
            .unwrap_or(explained.unit);
        let log = vm.run(&format!(
            "{{ sudo -n journalctl -b -u {} -o cat --no-pager; \
             sudo -n journalctl -b -t {ident} -o cat --no-pager; }} | grep -i fail | awk '!seen[$0]++'",
            explained.unit
        ));
        let mut failures: Vec<&str> = log
            .lines()
            .filter(|l| l.contains("Failed to insert"))
            .collect();
        failures.sort_unstable();
        let mut expected = explained.because.to_vec();
        expected.sort_unstable();
        assert!(
            failed == explained.unit && failures == expected,
            "{label}: the system is degraded beyond what the emulated machine explains:\n\
             failed: {failed}\n{log}"
        );
        eprintln!(
            "{label}: {} failed, as expected here: {} ({})",
            explained.unit,
            explained.because.join("; "),
            explained.why
        );
    } else if state != "running" {
        let failed = vm.run(
            "systemctl --failed --no-pager --plain; \
             for u in $(systemctl --failed --plain --no-legend | cut -d' ' -f1); do \
             sudo -n journalctl -b -u \"$u\" --no-pager | tail -20; done",
        );
        panic!("{label}: the system is `{state}`, not running:\n{failed}");
    }
    let failed = vm.run("systemctl --failed --plain --no-legend | cut -d' ' -f1");
    let allowed = explained.map_or("", |e| e.unit);
    assert!(
        failed.is_empty() || failed == allowed,
        "{label}: failed units:\n{failed}"
    );
    let who = vm.run("id -un; tty");
    assert_eq!(
        who, "kiln\n/dev/ttyS0",
        "{label}: not the live user on ttyS0"
    );
    let sudo = vm.run("sudo -n true && echo sudo-ok");
    assert_eq!(sudo, "sudo-ok", "{label}: sudo -n true failed");
    // QEMU's user network leases 10.0.2.15.
    let mut addresses = String::new();
    for _ in 0..60 {
        addresses = vm.run("ip -4 -o addr show scope global");
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

/// The Debian names of a profile's `environment.systemPackages`, from their unpacked trees.
fn system_packages(profile: &str) -> Vec<String> {
    let paths = kiln(&[
        "eval",
        "--json",
        "--strict",
        "-A",
        "config.environment.systemPackages",
        profile,
    ]);
    let paths: Vec<String> = paths
        .trim()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .split(',')
        .map(|p| p.trim().trim_matches('"').to_string())
        .filter(|p| !p.is_empty())
        .collect();
    assert!(!paths.is_empty(), "{profile}: no systemPackages");
    paths
        .iter()
        .map(|path| {
            let control = Path::new(path).join(".kiln-deb/control/control");
            let text = std::fs::read_to_string(&control)
                .unwrap_or_else(|e| panic!("{}: {e}", control.display()));
            text.lines()
                .find_map(|l| l.strip_prefix("Package: "))
                .expect("a Package field")
                .trim()
                .to_string()
        })
        .collect()
}

fn minimal(label: &str, uefi: bool, usb: bool) {
    if !slow(&[]) {
        return;
    }
    let (mut vm, _one) = boot(MINIMAL, "kiln-installer", label, uefi, usb);
    check_system(&mut vm);
    let packages = system_packages(MINIMAL);
    let status = vm.run(&format!(
        "dpkg-query -W -f='${{Package}} ${{Status}}\\n' {}",
        packages.join(" ")
    ));
    for package in &packages {
        assert!(
            status
                .lines()
                .any(|l| l == format!("{package} install ok installed")),
            "{label}: dpkg does not have {package} installed:\n{status}"
        );
    }
    let audit = vm.run("dpkg --audit; echo audit-done");
    assert_eq!(
        audit, "audit-done",
        "{label}: dpkg --audit found half-configured packages"
    );
}

#[test]
fn minimal_boots_from_cd_on_bios() {
    minimal("minimal-cd-bios", false, false);
}

#[test]
fn minimal_boots_from_usb_on_uefi() {
    minimal("minimal-usb-uefi", true, true);
}

/// Each option of `tests/image/options-test.nix`, by its effect.
/// `isoImage.secureBoot`: firmware that enforces Secure Boot with only Microsoft's keys starts
/// Debian's signed shim, GRUB and kernel, from a CD and from a USB stick; the kernel knows it
/// and locks itself down, and the live system comes up whole.
fn secure_boot(label: &str, usb: bool) {
    if !slow(&[]) {
        return;
    }
    for file in [OVMF_CODE_SECURE, OVMF_VARS_MS] {
        assert!(
            Path::new(file).exists(),
            "{file} is missing (Debian's ovmf)"
        );
    }
    let (mut vm, _one) = boot_with(MINIMAL, "kiln-installer", label, Firmware::SecureBoot, usb);
    let text = vm.text();
    assert!(
        text.contains("EFI stub: UEFI Secure Boot is enabled"),
        "{label}: the kernel did not see Secure Boot:\n{}",
        console::tail(&text, 4000)
    );
    // The SecureBoot variable's value, after its four attribute bytes: 1 is on.
    assert_eq!(
        vm.run("od -An -t u1 -j 4 /sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c | tr -d ' '"),
        "1",
        "{label}: SecureBoot is not on"
    );
    assert_eq!(
        vm.run("cat /sys/kernel/security/lockdown"),
        "none [integrity] confidentiality",
        "{label}: the kernel is not locked down"
    );
    check_system(&mut vm);
}

#[test]
fn secure_boot_from_cd() {
    secure_boot("Secure Boot, CD", false);
}

#[test]
fn secure_boot_from_usb() {
    secure_boot("Secure Boot, USB stick", true);
}

/// Microsoft's variables with the module-signing test certificate added to shim's `MokList`
/// by `virt-fw-vars` (PyPI's virt-firmware, which `.ci/run` installs), made once.
fn mok_vars() -> PathBuf {
    static VARS: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    VARS.get_or_init(|| {
        let dir = workspace().join("target/tmp");
        std::fs::create_dir_all(&dir).expect("target/tmp");
        let vars = dir.join("OVMF_VARS_4M.ms.kiln-test-mok.fd");
        let status = Command::new("virt-fw-vars")
            .args(["--input", OVMF_VARS_MS, "--output"])
            .arg(&vars)
            // The certificate owner's GUID: any, as mokutil uses shim's for what it imports.
            .args(["--add-mok", "605dab50-e046-4300-abb6-3dd810dd8b23"])
            .arg(workspace().join(SIGNING_CERT))
            .stdout(Stdio::null())
            .status()
            .expect("run virt-fw-vars");
        assert!(status.success(), "virt-fw-vars failed: {status}");
        vars
    })
    .clone()
}

/// `boot.moduleSigning`: `wl`, signed at build time, loads under Secure Boot once its
/// certificate is enrolled as `mokutil --import` enrols it; the ISO carries the certificate
/// and the way to enrol it, and the live system has mokutil.
#[test]
fn signed_wl_loads_under_secure_boot_with_its_certificate_enrolled() {
    if !slow(&["virt-fw-vars"]) {
        return;
    }
    let label = "Secure Boot, wl signed, certificate enrolled";
    let (mut vm, _one) = boot_with(
        SIGNED_MODULES,
        "kiln-installer",
        label,
        Firmware::SecureBootMok,
        false,
    );
    assert_eq!(
        vm.run("cat /sys/kernel/security/lockdown"),
        "none [integrity] confidentiality",
        "{label}: the kernel is not locked down"
    );
    assert_eq!(
        vm.run("mokutil --sb-state"),
        "SecureBoot enabled",
        "{label}"
    );
    let enrolled = vm.run(
        "sudo -n mokutil --list-enrolled | grep -c 'Subject: CN *= *kiln test module signing key'",
    );
    assert_eq!(
        enrolled, "1",
        "{label}: the test certificate is not in MokListRT"
    );
    assert_eq!(
        vm.run("lsmod | grep -c '^wl '"),
        "1",
        "{label}: wl is not loaded:\n{}",
        vm.run("sudo -n dmesg | grep -i -e wl -e key -e sign | tail -20")
    );
    assert_eq!(
        vm.run("/usr/sbin/modinfo -F signer wl"),
        "kiln test module signing key (not secret, tests only)",
        "{label}"
    );
    let hint = vm.run("cat /iso/module-signing.txt");
    assert!(
        hint.contains("sudo mokutil --import /iso/module-signing.der"),
        "{label}: {hint}"
    );
    assert_eq!(
        vm.run("sudo -n mokutil --test-key /iso/module-signing.der"),
        "/iso/module-signing.der is already enrolled",
        "{label}"
    );
    check_system_except(&mut vm, Some(&KVM_INTEL));
}

/// The same ISO on Microsoft's keys alone: the kernel refuses the module it cannot verify,
/// says so, and the rest of the system comes up.
#[test]
fn signed_wl_is_refused_under_secure_boot_without_its_certificate() {
    if !slow(&[]) {
        return;
    }
    let label = "Secure Boot, wl signed, certificate not enrolled";
    let (mut vm, _one) = boot_with(
        SIGNED_MODULES,
        "kiln-installer",
        label,
        Firmware::SecureBoot,
        false,
    );
    assert_eq!(vm.run("lsmod | grep -c '^wl '"), "0", "{label}: wl loaded");
    let refused =
        vm.run("sudo -n dmesg | grep -c 'Loading of module with unavailable key is rejected'");
    assert_ne!(
        refused, "0",
        "{label}: the kernel log does not say why wl is missing"
    );
    check_system_except(
        &mut vm,
        Some(&Explained {
            unit: "systemd-modules-load.service",
            because: &[
                "Failed to insert module 'kvm_intel': Operation not supported",
                "Failed to insert module 'wl': Key was rejected by service",
            ],
            why: "TCG emulates no VT-x, and wl's certificate is not enrolled",
        }),
    );
}

/// The signing key reaches the store (it is an input) but no byte of it the image: not the
/// ISO, not a file in its squashfs layers, not the manifest or SBOM beside it.
#[test]
fn the_module_signing_key_is_nowhere_in_the_image() {
    if !slow(&["unsquashfs", "xorriso"]) {
        return;
    }
    let iso = iso(SIGNED_MODULES);
    let pem = std::fs::read_to_string(workspace().join(SIGNING_KEY)).expect("test key");
    // Needles: three lines of the PEM body from its middle (the first lines are the header
    // every RSA key of this size shares), and 32 bytes from the middle of the key in DER (the
    // private exponent and primes, unique to this key).
    let body: Vec<&str> = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    let der = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, body.concat())
        .expect("the test key is PEM");
    let middle = body.len() / 2;
    let mut needles: Vec<Vec<u8>> = body[middle - 1..=middle + 1]
        .iter()
        .map(|l| l.as_bytes().to_vec())
        .collect();
    needles.push(der[der.len() / 2..der.len() / 2 + 32].to_vec());
    let scratch = tempfile::tempdir_in(workspace().join("target")).expect("scratch");
    let mut files = vec![];
    for entry in std::fs::read_dir(iso.parent().unwrap()).unwrap() {
        files.push(entry.unwrap().path());
    }
    let tree = scratch.path().join("iso");
    let out = Command::new("xorriso")
        .args(["-osirrox", "on", "-indev"])
        .arg(&iso)
        .args(["-extract", "/"])
        .arg(&tree)
        .output()
        .expect("run xorriso");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let layers: Vec<PathBuf> = std::fs::read_dir(tree.join("live"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert!(!layers.is_empty(), "no squashfs layers");
    for (i, layer) in layers.iter().enumerate() {
        let dest = scratch.path().join(format!("layer{i}"));
        let out = Command::new("unsquashfs")
            .args(["-no-xattrs", "-quiet", "-no-progress", "-d"])
            .arg(&dest)
            .arg(layer)
            .output()
            .expect("run unsquashfs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let mut checked = 0usize;
    let mut stack = files;
    stack.push(scratch.path().to_path_buf());
    while let Some(path) = stack.pop() {
        let meta = std::fs::symlink_metadata(&path).unwrap();
        if meta.is_dir() {
            // Unpacked trees may hold unreadable directories (root's 0700 ones).
            for entry in std::fs::read_dir(&path).into_iter().flatten() {
                stack.push(entry.unwrap().path());
            }
        } else if meta.is_file() {
            let Ok(bytes) = std::fs::read(&path) else {
                continue;
            };
            for needle in &needles {
                assert!(
                    !bytes.windows(needle.len()).any(|w| w == needle.as_slice()),
                    "{} holds bytes of the module-signing key",
                    path.display()
                );
            }
            checked += 1;
        }
    }
    assert!(checked > 1000, "only {checked} files checked");
    assert!(
        tree.join("module-signing.der").is_file(),
        "the certificate is not on the ISO"
    );
}

#[test]
fn options_take_effect() {
    if !slow(&[]) {
        return;
    }
    // UEFI from a CD: the image keeps systemd-boot (`isoImage.secureBoot = false`).
    let (mut vm, _one) = boot(OPTIONS, "kiln-options", "options", true, false);
    check_system(&mut vm);
    let mut expect = |command: &str, want: &str| {
        let got = vm.run(command);
        assert_eq!(got, want, "options: `{command}`");
    };
    // users.users, users.groups: ids, groups, home from /etc/skel, a hashed initialPassword.
    expect(
        "id alice",
        "uid=1234(alice) gid=100(users) groups=100(users),2345(testers),995(wheel)",
    );
    expect(
        "getent passwd alice svc | cut -d: -f1,5,6,7",
        "alice:Alice Tester:/home/alice:/bin/bash\nsvc::/nonexistent:/usr/sbin/nologin",
    );
    expect(
        "sudo -n stat -c '%U %G %a' /home/alice /home/alice/.bashrc /home/kiln",
        "alice users 700\nalice users 644\nkiln users 700",
    );
    expect("sudo -n grep -c '^alice:\\$6\\$' /etc/shadow", "1");
    // security.sudo: wheel needs a password now; extraConfig gave the live user its rule.
    expect(
        "sudo -n -u alice sudo -n true 2>&1",
        "sudo: a password is required",
    );
    // openssh with the key from openssh.authorizedKeys.keyFiles; environment.etc with modes
    // and owners (the private key is the live user's, 0600).
    expect(
        "stat -c '%U %G %a' /etc/kiln-test/motd /etc/kiln-test/sourced.conf /etc/kiln-test/id_ed25519",
        "root root 644\nroot testers 640\nkiln root 600",
    );
    expect(
        "cat /etc/kiln-test/motd; sudo -n grep answer /etc/kiln-test/sourced.conf",
        "hello from environment.etc\nanswer = 42",
    );
    expect(
        "ssh -o StrictHostKeyChecking=no -o BatchMode=yes -o LogLevel=ERROR \
         -i /etc/kiln-test/id_ed25519 alice@127.0.0.1 id -un",
        "alice",
    );
    expect(
        "sudo -n sshd -T | grep -E '^(passwordauthentication|authorizedkeysfile) ' | sort",
        "authorizedkeysfile .ssh/authorized_keys /etc/ssh/authorized_keys.d/%u\npasswordauthentication no",
    );
    // systemd.services (script, environment, wantedBy) and systemd.tmpfiles.rules.
    expect("cat /run/kiln-hello", "hello from kiln-options, as root");
    expect(
        "systemctl show -p WantedBy -p ActiveState kiln-hello",
        "WantedBy=multi-user.target\nActiveState=active",
    );
    expect("stat -c '%U %G %a' /run/kiln-tmpfiles", "alice testers 750");
    // networking: the host name, NetworkManager instead of systemd-networkd.
    expect("hostname", "kiln-options");
    expect(
        "systemctl is-active NetworkManager systemd-networkd",
        "active\ninactive",
    );
    expect("nmcli -t -f STATE general", "connected");
    // time.timeZone, i18n.defaultLocale, console.keyMap (keycode 21 is `z` on a German
    // keyboard, `y` on an American one), boot.kernelParams.
    expect(
        "readlink /etc/localtime; env -u TZ date -d @0 +%Z",
        "/usr/share/zoneinfo/Europe/Berlin\nCET",
    );
    expect(
        "grep LANG= /etc/default/locale; locale -a | grep -x de_DE.utf8",
        "LANG=de_DE.UTF-8\nde_DE.utf8",
    );
    expect(
        "grep XKBLAYOUT /etc/default/keyboard; sudo -n dumpkeys -C /dev/tty1 | grep '^keycode  21 ' | tr -s ' '",
        "XKBLAYOUT=\"de\"\nkeycode 21 = +z ",
    );
    expect(
        "tr ' ' '\\n' < /proc/cmdline | grep kiln.test",
        "kiln.test=options",
    );
}

/// The files `firmware-brcm80211` ships under `lib/firmware/brcm`.
fn brcm_firmware() -> Vec<String> {
    let paths = kiln(&[
        "build",
        "--locked",
        "--no-link",
        "-A",
        "config.hardware.firmware",
        MACBOOK,
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

/// The largest ISO that counts as small for the MacBook installer without GNOME: its kernel,
/// `wl`, the redistributable firmware and a text-mode Debian. Measured at 357 MiB (374,341,632
/// bytes); with GNOME the image has 916 MiB.
const SMALL_ISO_BYTES: u64 = 512 << 20;

/// The image is small: well under the GNOME installer's size.
fn check_small_iso(iso: &Path) {
    let size = std::fs::metadata(iso)
        .unwrap_or_else(|e| panic!("{}: {e}", iso.display()))
        .len();
    eprintln!("{}: {size} bytes", iso.display());
    assert!(
        size <= SMALL_ISO_BYTES,
        "{} has {size} bytes, more than {SMALL_ISO_BYTES}: GNOME forced off still brings a desktop",
        iso.display()
    );
}

/// What `mkForce false` on GNOME leaves: no display manager, and no package of a desktop (GNOME,
/// GDM, X, Xwayland, the desktop tools of `installation-cd-graphical-base.nix`).
fn check_text_mode(vm: &mut Vm) {
    let label = vm.label.clone();
    let manager = vm.run(
        "systemctl show -p LoadState --value display-manager.service; \
         loginctl list-sessions --no-legend | awk '{print $1}' | \
         xargs -r -n1 loginctl show-session -p Type --value | sort -u | tr '\\n' ' '",
    );
    let mut lines = manager.lines();
    assert_eq!(
        lines.next().map(str::trim),
        Some("not-found"),
        "{label}: a display manager is installed: {manager}"
    );
    let kinds = lines.next().unwrap_or("");
    assert!(
        !kinds.contains("wayland") && !kinds.contains("x11"),
        "{label}: a graphical session runs: {kinds}"
    );
    let desktop = vm.run(
        "for p in gnome-shell gdm3 xserver-xorg-core xwayland firefox-esr gparted; do \
         dpkg-query -W -f='${db:Status-Abbrev}' \"$p\" 2>/dev/null | grep -q '^ii' && echo \"$p\"; \
         done; true",
    );
    assert!(
        desktop.trim().is_empty(),
        "{label}: desktop packages installed: {desktop}"
    );
}

/// The MacBook installer with `services.xserver.desktopManager.gnome.enable = lib.mkForce false`,
/// from a CD on BIOS. With GNOME, `gnome.rs` boots it four ways.
#[test]
fn macbook_without_gnome_boots_from_cd_on_bios() {
    if !slow(&[]) {
        return;
    }
    let label = "macbook-cd-bios";
    check_small_iso(&iso(MACBOOK));
    let expected_firmware = brcm_firmware();
    let (mut vm, _one) = boot(MACBOOK, "kiln-installer", label, false, false);
    check_system_except(&mut vm, Some(&KVM_INTEL));

    broadcom::check_wl(label, &mut |command| vm.run(command));
    check_text_mode(&mut vm);
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
    let device = vm.run(&format!("sudo -n findfs LABEL={MACBOOK_VOLUME_ID}"));
    let device = device.trim().to_string();
    assert!(
        device.starts_with("/dev/"),
        "{label}: no device labelled {MACBOOK_VOLUME_ID}: {device:?}"
    );
    // The primary volume descriptor (sector 16) holds the volume ID at byte 40 (ECMA-119 8.4.6).
    let pvd = vm.run(&format!("sudo -n dd if={device} bs=1 skip=32769 count=5 2>/dev/null; echo; sudo -n dd if={device} bs=1 skip=32808 count=32 2>/dev/null"));
    let mut pvd = pvd.lines();
    assert_eq!(
        pvd.next().map(str::trim),
        Some("CD001"),
        "{label}: {device} is not ISO 9660"
    );
    assert_eq!(
        pvd.next().map(str::trim),
        Some(MACBOOK_VOLUME_ID),
        "{label}: {device}'s volume ID"
    );
    let mounts = vm.run("cat /proc/mounts");
    assert!(
        mounts
            .lines()
            .any(|l| l.starts_with(&format!("{device} /iso iso9660 "))),
        "{label}: /iso is not {device}:\n{mounts}"
    );
    // The live root: an overlay of the ISO's layers, each a squashfs.
    assert!(
        mounts.lines().any(|l| l.starts_with("overlay / overlay ")),
        "{label}: / is not an overlay:\n{mounts}"
    );
    for layer in ["base", "kernel", "system"] {
        assert!(
            mounts
                .lines()
                .any(|l| l.contains(&format!(" /run/kiln/layers/{layer} squashfs "))),
            "{label}: the {layer} layer is not mounted:\n{mounts}"
        );
    }
    let lspci = vm.run("command -v lspci; lspci | head -3");
    assert!(
        lspci.starts_with("/usr/bin/lspci\n") && lspci.contains("Host bridge"),
        "{label}: lspci: {lspci}"
    );
    let iw = vm.run("/usr/sbin/iw --version");
    assert!(iw.contains("iw version"), "{label}: iw does not run: {iw}");
}

/// Reproducibility: the minimal ISO built in a second, empty store on one thread (downloading
/// every package again, configuring the root again) has the bytes of the one the test store
/// built on all cores.
#[test]
fn minimal_iso_is_the_same_from_two_stores_and_thread_counts() {
    same_from_two_stores(MINIMAL);
}

/// With `wl` signed (`sign-file` in the sandbox, an RSA key): the same bytes too.
#[test]
fn signed_module_iso_is_the_same_from_two_stores_and_thread_counts() {
    same_from_two_stores(SIGNED_MODULES);
}

fn same_from_two_stores(profile: &str) {
    if !slow(&[]) {
        return;
    }
    let first = iso(profile);
    let other = kiln_testkit::tempdir_in(workspace().join("target")).expect("temp store");
    let link = other.path().join("result");
    let link = link.to_str().expect("utf-8 path");
    kiln_in(
        &other.path().join("store"),
        &[("RAYON_NUM_THREADS", "1")],
        &["build", "--locked", "-o", link, profile],
    );
    let second = Path::new(link).join("iso").join(first.file_name().unwrap());
    let read = |p: &Path| std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    assert!(
        read(&first) == read(&second),
        "{} and {} differ",
        first.display(),
        second.display()
    );
}

/// A misspelt initrd module, as a user meets it: the build fails in the initrd step, naming the
/// module and the closest real ones, and leaves no `result`.
#[test]
fn an_unknown_initrd_module_names_the_closest_ones() {
    if !slow(&[]) {
        return;
    }
    iso(MACBOOK); // the store has everything but the initrd with the typo
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
/// macbook profile — in the sandbox, with Debian's gcc-12 and no compiler on the host's `PATH`
/// (the step is rebuilt with `--check` under a `PATH` holding only `bwrap`) — a second run that
/// builds nothing, and a clean `kiln store verify`.
#[test]
fn broadcom_sta_builds_without_a_host_compiler_and_the_store_verifies() {
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

    // A PATH with bwrap and nothing else: no gcc, no make, no shell tools.
    let bin = kiln_testkit::tempdir().expect("temp dir");
    let bwrap = std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .map(|d| d.join("bwrap"))
        .find(|p| p.is_file())
        .expect("bwrap on PATH");
    std::os::unix::fs::symlink(&bwrap, bin.path().join("bwrap")).expect("link bwrap");
    let path = bin.path().to_str().expect("utf-8 path");
    let check = Command::new(KILN)
        .args([
            "build",
            "--locked",
            "--check",
            "--no-link",
            "-A",
            "config.boot.kernelPackages.broadcom_sta",
            macbook,
        ])
        .current_dir(workspace())
        .env("KILN_STORE", store())
        .env("PATH", path)
        .output()
        .expect("run kiln");
    let stderr = String::from_utf8_lossy(&check.stderr);
    assert!(
        check.status.success() && stderr.contains(": reproducible (rebuilt in"),
        "wl.ko rebuilt with PATH={path}:\n{stderr}"
    );

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
