//! `config.system.build.netboot`: the minimal profile's kernel, initrd and iPXE script, booted
//! by QEMU's own PXE firmware (iPXE in the network card's option ROM) from QEMU's TFTP server
//! (`-nic user,tftp=,bootfile=netboot.ipxe`) on BIOS, with no disk and no CD, to the live user's
//! shell on the serial console. Twice: with the live root in the initrd, and with stage 1
//! fetching it over HTTP from a server this test runs on the host (the guest's 10.0.2.2).
//! And on UEFI enforcing Secure Boot with Microsoft's keys: OVMF's own PXE fetches the signed
//! shim (`bootfile=bootx64.efi`), which fetches and verifies Debian's network GRUB, which reads
//! `grub/grub.cfg` and loads the kernel and the initrd over TFTP.
//!
//! Slow tests (`KILN_SLOW_TESTS=1`, QEMU needed); the store is `$KILN_STORE` when set, else
//! `target/kiln-test-store`, which the boot tests share.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kiln_testkit::workspace;

#[path = "support/console.rs"]
mod console;
use console::Console;

const KILN: &str = env!("CARGO_BIN_EXE_kiln");
const MINIMAL: &str = "profiles/installer/cd-dvd/installation-cd-minimal.nix";

/// One QEMU at a time: two cores, and TCG is CPU-bound.
static QEMU: Mutex<()> = Mutex::new(());

use kiln_testkit::shared_store as store;

fn artifacts() -> PathBuf {
    let dir = workspace().join("target/netboot-test");
    std::fs::create_dir_all(&dir).expect("create target/netboot-test");
    dir
}

/// Builds `config.system.build.netboot` of `profile`; the output's directory.
fn build(profile: &Path, link: &str) -> PathBuf {
    let link = artifacts().join(link);
    let out = Command::new(KILN)
        .args([
            "build",
            "--locked",
            "-A",
            "config.system.build.netboot",
            "-o",
        ])
        .arg(&link)
        .arg(profile)
        .current_dir(workspace())
        .env("KILN_STORE", store())
        .output()
        .expect("run kiln");
    assert!(
        out.status.success(),
        "kiln build failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    link
}

/// The files every netboot output has, and the script that boots them.
fn check_output(dir: &Path, live_url: Option<&str>) {
    for file in ["bzImage", "initrd", "netboot.ipxe"] {
        assert!(dir.join(file).is_file(), "no {file} in {}", dir.display());
    }
    let script = std::fs::read_to_string(dir.join("netboot.ipxe")).unwrap();
    let lines: Vec<&str> = script.lines().collect();
    assert_eq!(lines[0], "#!ipxe", "{script}");
    let kernel = lines
        .iter()
        .find(|l| l.starts_with("kernel bzImage initrd=initrd "))
        .unwrap_or_else(|| panic!("no kernel line:\n{script}"));
    assert!(kernel.contains("console=ttyS0,115200"), "{script}");
    match live_url {
        Some(url) => assert!(kernel.contains(&format!("kiln.live={url}")), "{script}"),
        None => assert!(!kernel.contains("kiln.live="), "{script}"),
    }
    assert!(
        lines.contains(&"initrd initrd") && lines.last() == Some(&"boot"),
        "{script}"
    );
    for file in ["bootx64.efi", "grubx64.efi", "grub/grub.cfg"] {
        assert!(dir.join(file).is_file(), "no {file} in {}", dir.display());
    }
    let grub = std::fs::read_to_string(dir.join("grub/grub.cfg")).unwrap();
    let params = kernel.trim_start_matches("kernel bzImage initrd=initrd ");
    let quoted: Vec<String> = params
        .split_whitespace()
        .map(|w| format!("'{w}'"))
        .collect();
    assert!(
        grub.contains(&format!(
            "  linux /bzImage {}\n  initrd /initrd\n",
            quoted.join(" ")
        )),
        "GRUB's entry differs from the iPXE script's:\n{grub}\n{script}"
    );
}

/// Boots `tftp_root/netboot.ipxe` through QEMU's PXE firmware and logs in.
fn boot(tftp_root: &Path, label: &str) -> Console {
    let mut cmd = Command::new("qemu-system-x86_64");
    // The initrd with the live root is 330 MB, unpacked into memory.
    cmd.args([
        "-m", "3072", "-smp", "2", "-display", "none", "-monitor", "none",
    ])
    .args(["-serial", "stdio", "-no-reboot", "-boot", "n", "-nic"])
    .arg(format!(
        "user,model=e1000,tftp={},bootfile=netboot.ipxe",
        tftp_root.display()
    ))
    .stderr(Stdio::null());
    login(&mut cmd, label)
}

/// Starts QEMU and waits for the live user's automatic login on the serial console.
fn login(cmd: &mut Command, label: &str) -> Console {
    let mut vm = Console::spawn(cmd, label);
    let at = vm.wait_for(
        "kiln-installer login: kiln (automatic login)",
        0,
        Duration::from_secs(600),
    );
    vm.wait_for("kiln@kiln-installer:~$ ", at, Duration::from_secs(120));
    eprintln!("{label}: logged in after {:.1?}", vm.started.elapsed());
    vm.run("sudo -n dmesg -n 1; export LC_ALL=C.UTF-8 TERM=dumb SYSTEMD_COLORS=0 SYSTEMD_PAGER=");
    vm
}

/// What every netbooted system shows: no medium, the layers mounted from `source`, systemd up.
fn check_system(vm: &mut Console, source: &str) {
    let text = vm.text();
    assert!(
        text.contains(&format!("kiln: {source}")),
        "{}",
        console::tail(&text, 4000)
    );
    assert!(
        !text.contains("looking for the medium"),
        "stage 1 looked for a medium"
    );
    assert_eq!(
        vm.run("findmnt -n -o FSTYPE /run/kiln/layers/base"),
        "squashfs"
    );
    assert_eq!(vm.run("findmnt -n /iso >/dev/null || echo none"), "none");
    assert_eq!(vm.run("findmnt -n -o FSTYPE /"), "overlay");
    assert_eq!(vm.run("ps -p 1 -o comm="), "systemd");
    let state = vm.run("systemctl is-system-running --wait 2>/dev/null; true");
    assert!(
        state == "running" || state == "degraded",
        "systemd says {state}"
    );
}

#[test]
fn netboot_with_the_live_root_in_the_initrd_boots_over_tftp_on_bios() {
    if !kiln_testkit::slow("the netboot test", &["qemu-system-x86_64"]) {
        return;
    }
    let out = build(Path::new(MINIMAL), "initrd-result");
    check_output(&out, None);
    assert!(!out.join("live").exists(), "the layers are in the initrd");
    let _qemu = QEMU.lock().unwrap_or_else(|e| e.into_inner());
    let mut vm = boot(&out, "netboot, live root in the initrd");
    check_system(&mut vm, "the live root is in the initrd");
}

/// A file server for the guest, on 127.0.0.1 (the guest's 10.0.2.2): GET only, one request per
/// connection; it records every path asked for.
struct Server {
    port: u16,
    requests: Arc<Mutex<Vec<String>>>,
}

impl Server {
    fn start(root: PathBuf) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a port");
        let port = listener.local_addr().unwrap().port();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let log = requests.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let root = root.clone();
                let log = log.clone();
                std::thread::spawn(move || serve(stream, &root, &log));
            }
        });
        Server { port, requests }
    }
}

fn serve(stream: std::net::TcpStream, root: &Path, log: &Mutex<Vec<String>>) {
    let mut reader = BufReader::new(stream.try_clone().expect("clone the stream"));
    let mut request = String::new();
    if reader.read_line(&mut request).is_err() {
        return;
    }
    // The headers, up to the blank line.
    let mut line = String::new();
    while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
        line.clear();
    }
    let path = request.split_whitespace().nth(1).unwrap_or("/").to_string();
    log.lock().unwrap().push(path.clone());
    let mut stream = stream;
    let file = root.join(path.trim_start_matches('/'));
    match (path.contains(".."), std::fs::read(&file)) {
        (false, Ok(bytes)) => {
            let _ = write!(
                stream,
                "HTTP/1.0 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                bytes.len()
            );
            let _ = stream.write_all(&bytes);
        }
        _ => {
            let _ = stream.write_all(b"HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\n\r\n");
        }
    }
}

#[test]
fn netboot_fetching_the_live_root_over_http_boots_on_bios() {
    if !kiln_testkit::slow("the netboot test", &["qemu-system-x86_64"]) {
        return;
    }
    // The server's port is known only now, and the URL is part of the build: a profile beside a
    // copy of the lock, importing the minimal one.
    let dir = artifacts().join("http-profile");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(
        workspace().join("profiles/kiln.lock"),
        dir.join("kiln.lock"),
    )
    .unwrap();
    let served = kiln_testkit::tempdir().expect("temp dir");
    let server = Server::start(served.path().to_path_buf());
    let url = format!("http://10.0.2.2:{}/live", server.port);
    let profile = dir.join("netboot-http.nix");
    std::fs::write(
        &profile,
        format!(
            "{{ ... }}: {{\n  imports = [ {} ];\n  netboot.squashfs = \"http\";\n  netboot.squashfsUrl = \"{url}\";\n}}\n",
            workspace().join(MINIMAL).display()
        ),
    )
    .unwrap();
    let out = build(&profile, "http-result");
    check_output(&out, Some(&url));
    // What a web server would serve: the output's `live/`.
    std::fs::create_dir(served.path().join("live")).unwrap();
    for layer in ["base", "kernel", "system"] {
        let file = out.join("live").join(format!("{layer}.squashfs"));
        assert!(file.is_file(), "no {}", file.display());
        std::fs::copy(
            &file,
            served.path().join("live").join(format!("{layer}.squashfs")),
        )
        .unwrap();
    }
    let _qemu = QEMU.lock().unwrap_or_else(|e| e.into_inner());
    let mut vm = boot(&out, "netboot, live root over HTTP");
    check_system(&mut vm, &format!("fetching the live root from {url}"));
    assert_eq!(
        *server.requests.lock().unwrap(),
        [
            "/live/base.squashfs",
            "/live/kernel.squashfs",
            "/live/system.squashfs"
        ]
    );
    assert_eq!(vm.run("findmnt -n -o FSTYPE /run/kiln/live"), "tmpfs");
    assert_eq!(
        vm.run("ls /run/kiln/live | tr '\\n' ' '"),
        "base.squashfs kernel.squashfs system.squashfs "
    );
}

/// UEFI with Secure Boot enforced (Microsoft's keys only): no iPXE option ROM (an unsigned ROM
/// would not run), OVMF's own virtio driver and PXE client fetch the shim, and each link of the
/// chain is verified up to the kernel.
#[test]
fn netboot_boots_over_tftp_on_uefi_with_secure_boot() {
    const CODE: &str = "/usr/share/OVMF/OVMF_CODE_4M.secboot.fd";
    const VARS: &str = "/usr/share/OVMF/OVMF_VARS_4M.ms.fd";
    if !kiln_testkit::slow("the netboot test", &["qemu-system-x86_64"]) {
        return;
    }
    for file in [CODE, VARS] {
        assert!(
            Path::new(file).exists(),
            "{file} is missing (Debian's ovmf)"
        );
    }
    let out = build(Path::new(MINIMAL), "initrd-result");
    check_output(&out, None);
    let vars = tempfile::NamedTempFile::new().expect("temp file");
    std::fs::copy(VARS, vars.path()).expect("copy OVMF's variables");
    let _qemu = QEMU.lock().unwrap_or_else(|e| e.into_inner());
    let mut cmd = Command::new("qemu-system-x86_64");
    cmd.args([
        "-m", "3072", "-smp", "2", "-display", "none", "-monitor", "none",
    ])
    .args(["-serial", "stdio", "-no-reboot"])
    .args(["-machine", "q35,smm=on"])
    .args(["-global", "driver=cfi.pflash01,property=secure,value=on"])
    .arg("-drive")
    .arg(format!("if=pflash,format=raw,readonly=on,file={CODE}"))
    .arg("-drive")
    .arg(format!(
        "if=pflash,format=raw,file={}",
        vars.path().display()
    ))
    .arg("-netdev")
    .arg(format!(
        "user,id=net0,tftp={},bootfile=bootx64.efi",
        out.display()
    ))
    .args(["-device", "virtio-net-pci,netdev=net0,romfile=,bootindex=0"])
    .stderr(Stdio::null());
    let label = "netboot, UEFI with Secure Boot";
    let mut vm = login(&mut cmd, label);
    let text = vm.text();
    for said in [
        "Fetching Netboot Image grubx64.efi",
        "EFI stub: UEFI Secure Boot is enabled",
    ] {
        assert!(
            text.contains(said),
            "{label}: no `{said}`:\n{}",
            console::tail(&text, 4000)
        );
    }
    assert_eq!(
        vm.run("cat /sys/kernel/security/lockdown"),
        "none [integrity] confidentiality"
    );
    check_system(&mut vm, "the live root is in the initrd");
}
