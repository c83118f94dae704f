//! GNOME boot tests: the graphical installers, built with `kiln build` as a user runs it, booted in
//! QEMU (TCG, `-vga std`, 3.5 GiB, 2 CPUs) until GDM has logged the live user `kiln` into GNOME.
//!
//! - The GNOME profile on UEFI from a USB stick: within 10 minutes of power-on `loginctl` shows a
//!   `wayland` or `x11` session of `kiln`, `gnome-shell` runs as `kiln`, and `systemctl --failed`
//!   is empty; then a QMP `screendump` must show GNOME (a dark top bar with light text over a
//!   picture, not a blank or text screen). The PNG is kept under `target/gnome-test/`, its path
//!   printed, and the time from power-on to the session too. Firefox ESR and GParted are in the
//!   dock.
//! - The macbook profile, four ways (BIOS and UEFI, CD and USB stick): each boot reaches at least
//!   GDM (the greeter or the session) with `wl` and `cfg80211` loaded, the drivers broadcom-sta
//!   blacklists (`b43`, `bcma`, `ssb`, `brcmsmac`) blacklisted and not loaded, and `modinfo wl`
//!   naming the module kiln built (`support/broadcom.rs`, which `boot.rs` runs on the same
//!   profile with GNOME forced off); on UEFI from a USB stick, the whole GNOME check as above (but
//!   for `kvm-intel`, which cannot load on a CPU without VMX: see [`Failed`]), and NetworkManager
//!   listing the wired device (QEMU has no Broadcom card for it to list).
//! - The GNOME ISO's boot menus (isolinux and GRUB) offer the default, `nomodeset` and
//!   serial-console entries, read back with xorriso and mtools; the `nomodeset` entry, booted,
//!   leaves the card without a KMS driver, and GDM falls back to GNOME on Xorg over the
//!   firmware's framebuffer.
//! - The GNOME ISO built again in a second store, on one thread, has the same bytes.
//!
//! They run under `KILN_SLOW_TESTS=1`, one QEMU at a time; the store is `$KILN_STORE` when set,
//! else `target/kiln-test-store`. `boot.rs` has the non-graphical boot tests. The Broadcom checks
//! both run are shared (`support/broadcom.rs`); the console helpers are still a copy of
//! `boot.rs`'s, grown here with a screen and QMP (FIXME: share them in `support/`).

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use kiln_testkit::workspace;

#[path = "support/broadcom.rs"]
mod broadcom;
#[path = "support/console.rs"]
mod console;
use console::{tail, Console};

const KILN: &str = env!("CARGO_BIN_EXE_kiln");
const GNOME: &str = "profiles/installer/cd-dvd/installation-cd-graphical-gnome.nix";
const MACBOOK: &str = "profiles/installer/cd-dvd/installation-cd-graphical-gnome-macbook.nix";
const OVMF_CODE: &str = "/usr/share/OVMF/OVMF_CODE_4M.fd";
const OVMF_VARS: &str = "/usr/share/OVMF/OVMF_VARS_4M.fd";
/// The kinds of graphical sessions.
const GRAPHICAL: &[&str] = &["wayland", "x11"];
/// From power-on to the graphical session, under TCG.
const SESSION_TIMEOUT: Duration = Duration::from_secs(600);

use kiln_testkit::shared_store as store;

/// Where the tests leave their screenshots and result links.
fn artifacts() -> PathBuf {
    let dir = workspace().join("target/gnome-test");
    std::fs::create_dir_all(&dir).expect("create target/gnome-test");
    dir
}

/// Whether slow tests run (`kiln_testkit::slow`); QEMU and OVMF's firmware are needed too.
fn slow(test: &str, tools: &[&str]) -> bool {
    let mut all = vec!["qemu-system-x86_64"];
    all.extend_from_slice(tools);
    if !kiln_testkit::slow(test, &all) {
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

fn kiln(args: &[&str], env: &[(&str, &str)]) -> String {
    let out = Command::new(KILN)
        .args(args)
        .current_dir(workspace())
        .env("KILN_STORE", store())
        .envs(env.iter().copied())
        .output()
        .expect("run kiln");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "kiln {args:?} failed:\n{stderr}");
    // The live root's split (copied / configured / squashfs), for the log.
    for line in stderr.lines().filter(|l| l.contains("configured in")) {
        eprintln!("{line}");
    }
    String::from_utf8(out.stdout).expect("utf-8 output")
}

/// A profile's ISO, built once per test run (`--locked`: the library's lock must be complete).
fn iso(profile: &'static str) -> PathBuf {
    static ISOS: Mutex<BTreeMap<&str, PathBuf>> = Mutex::new(BTreeMap::new());
    let mut isos = ISOS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    isos.entry(profile)
        .or_insert_with(|| {
            let stem = Path::new(profile)
                .file_stem()
                .and_then(|s| s.to_str())
                .expect("profile file name");
            let link = artifacts().join(format!("{stem}-result"));
            let link = link.to_str().expect("utf-8 path");
            let started = Instant::now();
            kiln(&["build", "--locked", "-o", link, profile], &[]);
            eprintln!("{stem}: ISO ready after {:.1?}", started.elapsed());
            let dir = Path::new(link).join("iso");
            let mut found: Vec<PathBuf> = std::fs::read_dir(&dir)
                .expect("result/iso")
                .map(|e| e.expect("dir entry").path())
                // Beside it: NAME.manifest.json and NAME.spdx.json.
                .filter(|p| p.extension().is_some_and(|e| e == "iso"))
                .collect();
            assert_eq!(found.len(), 1, "one ISO in {}: {found:?}", dir.display());
            found.remove(0)
        })
        .clone()
}

/// One QEMU at a time: two cores, and TCG is CPU-bound.
static QEMU: Mutex<()> = Mutex::new(());

/// A virtual machine with a screen (`-vga std`, no window), its serial console on a pipe and QMP
/// on a socket.
struct Vm {
    console: Console,
    qmp: PathBuf,
    _dir: tempfile::TempDir,
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

impl Vm {
    fn boot(iso: &Path, label: &str, uefi: bool, usb: bool) -> Vm {
        let dir = tempfile::tempdir().expect("temp dir");
        let qmp = dir.path().join("qmp.sock");
        let mut cmd = Command::new("qemu-system-x86_64");
        cmd.args([
            "-m",
            "3584",
            "-smp",
            "2",
            "-vga",
            "std",
            "-display",
            "none",
            "-monitor",
            "none",
            "-serial",
            "stdio",
            "-no-reboot",
        ]);
        cmd.arg("-qmp")
            .arg(format!("unix:{},server=on,wait=off", qmp.display()));
        if uefi {
            let vars = dir.path().join("OVMF_VARS.fd");
            std::fs::copy(OVMF_VARS, &vars).expect("copy OVMF vars");
            cmd.arg("-drive")
                .arg(format!("if=pflash,format=raw,readonly=on,file={OVMF_CODE}"));
            cmd.arg("-drive")
                .arg(format!("if=pflash,format=raw,file={}", vars.display()));
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
            qmp,
            _dir: dir,
        }
    }

    /// Waits for the serial console's autologin shell (the live user's).
    fn wait_for_shell(&mut self) {
        let deadline = self.started + SESSION_TIMEOUT;
        self.wait_for(
            "login:",
            0,
            deadline.saturating_duration_since(Instant::now()),
        );
        loop {
            // The shell answers once it has started; the first lines may go to the login prompt.
            self.send("echo RE''ADY");
            std::thread::sleep(Duration::from_secs(5));
            if self.text().contains("READY\r\n") {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{}: no shell on the serial console; it said:\n{}",
                self.label,
                tail(&self.text(), 4000)
            );
        }
    }

    /// Polls `loginctl` until a session of a kind in `kinds` (`wayland`, `x11`) and a class in
    /// `classes` (`user`, `greeter`) is open; returns it and the time since power-on.
    fn wait_for_graphical_session(
        &mut self,
        classes: &[&str],
        kinds: &[&str],
    ) -> (Session, Duration) {
        let deadline = self.started + SESSION_TIMEOUT;
        loop {
            let sessions = self.sessions();
            if let Some(found) = sessions.iter().find(|s| {
                kinds.contains(&s.kind.as_str())
                    && classes.contains(&s.class.as_str())
                    && s.state != "closing"
            }) {
                return (found.clone(), self.started.elapsed());
            }
            if Instant::now() >= deadline {
                let failed = self.run("systemctl --failed --no-legend --plain | cat");
                let journal = self.run(
                    "sudo -n journalctl -b --no-pager -q -o short-monotonic -u gdm.service -t gnome-shell \
                     -t gnome-session-binary -t gdm-autologin | tail -n 60",
                );
                panic!(
                    "{}: no session of kind {kinds:?} and class {classes:?} within {SESSION_TIMEOUT:?}; \
                     loginctl: {sessions:?}\nfailed units:\n{failed}\njournal (gdm, gnome-shell):\n{journal}",
                    self.label
                );
            }
            std::thread::sleep(Duration::from_secs(5));
        }
    }

    /// Waits until `gnome-shell` runs as `kiln`: logind registers the session when GDM opens
    /// it, and the Shell starts in it a little later.
    fn wait_for_gnome_shell(&mut self) {
        let deadline = self.started + SESSION_TIMEOUT;
        loop {
            let shell =
                self.run("pgrep -u kiln -x gnome-shell >/dev/null && echo running || echo missing");
            if shell.trim() == "running" {
                eprintln!(
                    "{}: gnome-shell running as kiln {:.1} s after power-on",
                    self.label,
                    self.started.elapsed().as_secs_f64()
                );
                return;
            }
            if Instant::now() >= deadline {
                let journal = self.run(
                    "journalctl -b --no-pager -q -o short-monotonic _UID=$(id -u kiln) | tail -n 80",
                );
                panic!(
                    "{}: gnome-shell does not run as kiln; kiln's journal:\n{journal}",
                    self.label
                );
            }
            std::thread::sleep(Duration::from_secs(5));
        }
    }

    /// `loginctl`'s sessions, with the properties the tests read.
    fn sessions(&mut self) -> Vec<Session> {
        let out = self.run(
            "for s in $(loginctl list-sessions --no-legend | awk '{print $1}'); do \
             echo \"$(loginctl show-session \"$s\" -p Name --value) \
             $(loginctl show-session \"$s\" -p Type --value) \
             $(loginctl show-session \"$s\" -p Class --value) \
             $(loginctl show-session \"$s\" -p State --value)\"; done",
        );
        out.lines()
            .filter_map(|line| {
                let words: Vec<&str> = line.split_whitespace().collect();
                match words.as_slice() {
                    [user, kind, class, state] => Some(Session {
                        user: (*user).to_string(),
                        kind: (*kind).to_string(),
                        class: (*class).to_string(),
                        state: (*state).to_string(),
                    }),
                    _ => None,
                }
            })
            .collect()
    }

    /// A screenshot over QMP: the screen as QEMU's display shows it (PPM), as RGB rows.
    fn screendump(&self) -> Screen {
        let file = self._dir.path().join("screen.ppm");
        let stream = UnixStream::connect(&self.qmp).expect("connect to QMP");
        stream
            .set_read_timeout(Some(Duration::from_secs(120)))
            .expect("QMP timeout");
        let mut writer = stream.try_clone().expect("QMP stream");
        let mut reader = BufReader::new(stream);
        let mut reply = || {
            // Replies are one JSON object per line; events may come between.
            loop {
                let mut line = String::new();
                reader.read_line(&mut line).expect("read QMP");
                assert!(!line.is_empty(), "QMP closed");
                if line.contains("\"return\"") || line.contains("\"error\"") {
                    return line;
                }
                if line.contains("\"QMP\"") {
                    return line;
                }
            }
        };
        let greeting = reply();
        assert!(greeting.contains("QMP"), "QMP greeting: {greeting}");
        writer
            .write_all(b"{\"execute\":\"qmp_capabilities\"}\n")
            .expect("write QMP");
        let answer = reply();
        assert!(answer.contains("return"), "qmp_capabilities: {answer}");
        let command = format!(
            "{{\"execute\":\"screendump\",\"arguments\":{{\"filename\":\"{}\"}}}}\n",
            file.display()
        );
        writer.write_all(command.as_bytes()).expect("write QMP");
        let answer = reply();
        assert!(answer.contains("return"), "screendump: {answer}");
        Screen::from_ppm(&std::fs::read(&file).expect("read the screendump"))
    }
}

#[derive(Clone, Debug)]
struct Session {
    user: String,
    kind: String,
    class: String,
    state: String,
}

/// An RGB screenshot.
struct Screen {
    width: usize,
    height: usize,
    rgb: Vec<u8>,
}

impl Screen {
    /// Reads a binary PPM (`P6`, maxval 255), what QEMU's `screendump` writes.
    fn from_ppm(bytes: &[u8]) -> Screen {
        let mut fields = Vec::new();
        let mut at = 0;
        while fields.len() < 4 {
            while bytes[at].is_ascii_whitespace() {
                at += 1;
            }
            if bytes[at] == b'#' {
                while bytes[at] != b'\n' {
                    at += 1;
                }
                continue;
            }
            let start = at;
            while !bytes[at].is_ascii_whitespace() {
                at += 1;
            }
            fields.push(String::from_utf8_lossy(&bytes[start..at]).into_owned());
        }
        assert_eq!(fields[0], "P6", "not a binary PPM");
        assert_eq!(fields[3], "255", "PPM maxval");
        let width: usize = fields[1].parse().expect("PPM width");
        let height: usize = fields[2].parse().expect("PPM height");
        let rgb = bytes[at + 1..].to_vec();
        assert_eq!(rgb.len(), width * height * 3, "PPM size");
        Screen { width, height, rgb }
    }

    fn luma(&self, x: usize, y: usize) -> u32 {
        let i = (y * self.width + x) * 3;
        let [r, g, b] = [self.rgb[i], self.rgb[i + 1], self.rgb[i + 2]].map(u32::from);
        (299 * r + 587 * g + 114 * b) / 1000
    }

    /// What makes the screen GNOME's rather than blank or a text console: a dark band across
    /// the top rows (the top bar), light text in it (Activities, the clock), and a picture below
    /// it (the wallpaper or the overview: many colours, not one dark field).
    fn gnome_verdict(&self) -> Result<String, String> {
        // GNOME 43's bar is 32 px at scale 1 (the first rows are all bar at any size).
        let band = 24.min(self.height / 10);
        let mut band_dark = 0usize;
        let mut band_light = 0usize;
        for y in 2..band {
            for x in 0..self.width {
                match self.luma(x, y) {
                    l if l < 60 => band_dark += 1,
                    l if l > 160 => band_light += 1,
                    _ => {}
                }
            }
        }
        let band_pixels = (band - 2) * self.width;
        let mut colours = std::collections::BTreeSet::new();
        let mut below = 0u64;
        let below_rows = (self.height / 10)..self.height;
        for y in below_rows.clone() {
            for x in 0..self.width {
                let i = (y * self.width + x) * 3;
                colours.insert([self.rgb[i], self.rgb[i + 1], self.rgb[i + 2]]);
                below += u64::from(self.luma(x, y));
            }
        }
        let below_mean = below / (below_rows.len() * self.width) as u64;
        let summary = format!(
            "{}x{}: top band {}% dark, {} light pixels; below it {} colours, mean luma {below_mean}",
            self.width,
            self.height,
            band_dark * 100 / band_pixels,
            band_light,
            colours.len()
        );
        let ok = band_dark * 100 >= band_pixels * 85
            && band_light >= 20
            && colours.len() >= 256
            && below_mean >= 20;
        if ok {
            Ok(summary)
        } else {
            Err(summary)
        }
    }

    /// The screen as a PNG (8-bit RGB, no filter, zlib), for people to look at.
    fn write_png(&self, path: &Path) {
        fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
            out.extend_from_slice(&u32::try_from(data.len()).expect("chunk").to_be_bytes());
            let mut crc = crc32fast::Hasher::new();
            crc.update(kind);
            crc.update(data);
            out.extend_from_slice(kind);
            out.extend_from_slice(data);
            out.extend_from_slice(&crc.finalize().to_be_bytes());
        }
        let mut raw = Vec::with_capacity((self.width * 3 + 1) * self.height);
        for row in self.rgb.chunks(self.width * 3) {
            raw.push(0); // filter type None
            raw.extend_from_slice(row);
        }
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        z.write_all(&raw).expect("compress");
        let idat = z.finish().expect("compress");
        let mut ihdr = Vec::new();
        ihdr.extend_from_slice(&u32::try_from(self.width).expect("width").to_be_bytes());
        ihdr.extend_from_slice(&u32::try_from(self.height).expect("height").to_be_bytes());
        ihdr.extend_from_slice(&[8, 2, 0, 0, 0]); // 8-bit RGB, deflate, no filter, no interlace
        let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
        chunk(&mut png, b"IHDR", &ihdr);
        chunk(&mut png, b"IDAT", &idat);
        chunk(&mut png, b"IEND", &[]);
        std::fs::write(path, png).expect("write the PNG");
    }
}

/// Which failed units a test accepts.
#[derive(Clone, Copy, PartialEq)]
enum Failed {
    /// None.
    None,
    /// `systemd-modules-load.service`, only for `kvm_intel` on a CPU without VMX (QEMU's TCG
    /// emulates none, nor does an AMD machine have it): the macbook profile loads `kvm-intel`
    /// for Intel MacBooks, as NixOS's manual has it, and on other CPUs the module refuses to load
    /// with EOPNOTSUPP, which systemd-modules-load counts as a failure.
    KvmIntelWithoutVmx,
}

/// Waits for `kiln`'s GNOME session and checks it: `gnome-shell` runs as `kiln`, no unit failed
/// (but those `accepted`), and the screen shows GNOME (the screenshot is kept).
fn check_gnome_session(vm: &mut Vm, name: &str, accepted: Failed) {
    vm.wait_for_shell();
    let (session, after) = vm.wait_for_graphical_session(&["user"], GRAPHICAL);
    eprintln!(
        "{}: graphical session {session:?} {:.1} s after power-on",
        vm.label,
        after.as_secs_f64()
    );
    assert_eq!(session.user, "kiln", "{}: {session:?}", vm.label);
    vm.wait_for_gnome_shell();
    let deadline = vm.started + SESSION_TIMEOUT;

    // The Shell runs some time before it draws (llvmpipe, under TCG): look until the screen
    // shows GNOME or the time is up; the last screenshot is kept either way.
    let png = artifacts().join(format!("{name}.png"));
    let verdict = loop {
        let screen = vm.screendump();
        screen.write_png(&png);
        let verdict = screen.gnome_verdict();
        if verdict.is_ok() || Instant::now() >= deadline {
            break verdict;
        }
        std::thread::sleep(Duration::from_secs(10));
    };
    eprintln!("{}: screenshot kept at {}", vm.label, png.display());
    match verdict {
        Ok(summary) => eprintln!(
            "{}: the screen shows GNOME {:.1} s after power-on: {summary}",
            vm.label,
            vm.started.elapsed().as_secs_f64()
        ),
        Err(summary) => panic!(
            "{}: the screen does not look like GNOME ({summary}); see {}",
            vm.label,
            png.display()
        ),
    }
    // Every unit has had its chance once the Shell draws.
    let failed = vm.run("systemctl --failed --no-legend --plain | cat");
    let units: Vec<&str> = failed
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    let accepted = accepted == Failed::KvmIntelWithoutVmx
        && units == ["systemd-modules-load.service"]
        && kvm_intel_is_the_only_module_that_failed(vm);
    if accepted {
        eprintln!(
            "{}: systemd-modules-load.service failed, only for kvm_intel on a CPU without VMX",
            vm.label
        );
    } else if !units.is_empty() {
        let status = vm.run("systemctl status --failed --no-pager -n 20 2>&1 | head -n 80");
        panic!("{}: failed units:\n{failed}\n{status}", vm.label);
    }
    // The session is still there (a Shell that fails to start ends it).
    let shell = vm.run("pgrep -u kiln -x gnome-shell >/dev/null && echo running || echo missing");
    assert_eq!(shell.trim(), "running", "{}: gnome-shell exited", vm.label);
}

/// Whether the CPU has no VMX and `kvm_intel` is the only module systemd-modules-load could not
/// load, for that reason (EOPNOTSUPP).
fn kvm_intel_is_the_only_module_that_failed(vm: &mut Vm) -> bool {
    let vmx = vm.run("grep -cw vmx /proc/cpuinfo");
    let errors = vm.run(
        // By its syslog identifier too: journald files a short-lived process's line under its
        // unit only if it read the sender's cgroup in time.
        "{ sudo -n journalctl -b --no-pager -q -o cat -u systemd-modules-load.service; \
         sudo -n journalctl -b --no-pager -q -o cat -t systemd-modules-load; } \
         | grep 'Failed to insert' | awk '!seen[$0]++'",
    );
    eprintln!("{}: CPUs with vmx: {vmx}; modules-load: {errors}", vm.label);
    vmx.trim() == "0"
        && !errors.trim().is_empty()
        && errors.lines().all(|l| {
            l.contains("Failed to insert module 'kvm_intel'")
                && l.contains("Operation not supported")
        })
}

/// Issue 15's first test: GNOME on UEFI from a USB stick.
#[test]
fn gnome_installer_reaches_the_desktop_on_uefi_usb() {
    if !slow("GNOME boot test", &[]) {
        return;
    }
    let iso = iso(GNOME);
    let _one = QEMU
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let mut vm = Vm::boot(&iso, "gnome-usb-uefi", true, true);
    check_gnome_session(&mut vm, "gnome-usb-uefi", Failed::None);
    // `installation-cd-graphical-base.nix`'s desktop tools are on the menu: installed with their
    // launchers, and in the dock (the Shell's favourites, from the profile's GSettings override).
    let favourites = vm.run(
        "ls /usr/share/applications/firefox-esr.desktop /usr/share/applications/gparted.desktop; \
         gsettings get org.gnome.shell favorite-apps",
    );
    for app in ["firefox-esr.desktop", "gparted.desktop"] {
        assert!(
            favourites.matches(app).count() == 2,
            "gnome-usb-uefi: {app} is not installed and in the dock: {favourites}"
        );
    }
}

/// The macbook installer four ways (BIOS and UEFI, CD and USB stick): each boot reaches at least
/// GDM (its greeter or the autologin session) with Broadcom's `wl` loaded and its rivals
/// blacklisted; on UEFI from a USB stick, as the GNOME test, the whole session is checked.
fn macbook(label: &str, uefi: bool, usb: bool, whole_session: bool) {
    if !slow("macbook GNOME boot test", &[]) {
        return;
    }
    let iso = iso(MACBOOK);
    let _one = QEMU
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let mut vm = Vm::boot(&iso, label, uefi, usb);
    if whole_session {
        check_gnome_session(&mut vm, label, Failed::KvmIntelWithoutVmx);
    } else {
        vm.wait_for_shell();
        let (session, after) = vm.wait_for_graphical_session(&["user", "greeter"], GRAPHICAL);
        eprintln!(
            "{label}: graphical session {session:?} {:.1} s after power-on",
            after.as_secs_f64()
        );
    }
    broadcom::check_wl(label, &mut |command| vm.run(command));
    if whole_session {
        // QEMU emulates no Broadcom card, so NetworkManager has no `wl` interface to list; it
        // must list the wired one it manages.
        let devices = vm.run("nmcli -t -f DEVICE,TYPE,STATE device");
        eprintln!("{label}: nmcli device: {devices}");
        assert!(
            devices.lines().any(|l| l.contains(":ethernet:")),
            "{label}: NetworkManager lists no ethernet device: {devices}"
        );
    }
}

#[test]
fn macbook_installer_reaches_the_desktop_from_usb_on_uefi() {
    macbook("macbook-usb-uefi", true, true, true);
}

#[test]
fn macbook_installer_reaches_gdm_from_cd_on_bios() {
    macbook("macbook-cd-bios", false, false, false);
}

#[test]
fn macbook_installer_reaches_gdm_from_cd_on_uefi() {
    macbook("macbook-cd-uefi", true, false, false);
}

#[test]
fn macbook_installer_reaches_gdm_from_usb_on_bios() {
    macbook("macbook-usb-bios", false, true, false);
}

/// The `nomodeset` entry, as a user picks it for a screen that stays black: no kernel mode
/// setting, so the QEMU card's KMS driver (`bochs`) stays unloaded and there is no DRM device,
/// only the UEFI firmware's framebuffer (`/dev/fb0`). GNOME's Wayland session fails without a
/// GPU, and GDM falls back to Xorg, which the live user (in `video`) runs on the framebuffer. The
/// test's profile, in a scratch directory beside a copy of the library's lock (the same pins, so
/// only the ISO is new), makes it the only entry.
#[test]
fn gnome_nomodeset_entry_reaches_an_x11_session_on_the_firmware_framebuffer() {
    if !slow("GNOME nomodeset boot test", &[]) {
        return;
    }
    let dir = artifacts().join("nomodeset-profile");
    std::fs::create_dir_all(&dir).expect("create the profile's directory");
    std::fs::copy(
        workspace().join("profiles/kiln.lock"),
        dir.join("kiln.lock"),
    )
    .expect("copy the lock");
    let profile = dir.join("gnome-nomodeset.nix");
    std::fs::write(
        &profile,
        format!(
            "{{ lib, ... }}: {{\n  imports = [ {}/{GNOME} ];\n  isoImage.edition = lib.mkForce \"gnome-nomodeset\";\n  \
             isoImage.bootEntries = lib.mkForce [ {{ name = \"nomodeset\"; label = \"nomodeset\"; \
             kernelParams = [ \"console=ttyS0,115200\" \"console=tty0\" \"nomodeset\" ]; }} ];\n}}\n",
            workspace().display()
        ),
    )
    .expect("write the profile");
    let link = artifacts().join("gnome-nomodeset-result");
    let link = link.to_str().expect("utf-8 path");
    kiln(
        &[
            "build",
            "--locked",
            "-o",
            link,
            profile.to_str().expect("utf-8 path"),
        ],
        &[],
    );
    let iso = Path::new(link).join("iso/kiln-installer-gnome-nomodeset.iso");
    let _one = QEMU
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let mut vm = Vm::boot(&iso, "gnome-nomodeset-usb-uefi", true, true);
    vm.wait_for_shell();
    let cmdline = vm.run("cat /proc/cmdline");
    assert!(cmdline.contains("nomodeset"), "{cmdline}");
    let (session, after) = vm.wait_for_graphical_session(&["user"], &["x11"]);
    eprintln!(
        "{}: graphical session {session:?} {:.1} s after power-on",
        vm.label,
        after.as_secs_f64()
    );
    assert_eq!(session.user, "kiln", "{}: {session:?}", vm.label);
    vm.wait_for_gnome_shell();
    let screen = vm.run(
        "ls /sys/class/drm | grep -c '^card'; ls /dev/fb0; \
         pgrep -u kiln -x Xorg >/dev/null && echo Xorg; true",
    );
    assert_eq!(
        screen.lines().map(str::trim).collect::<Vec<_>>(),
        ["0", "/dev/fb0", "Xorg"],
        "{}: expected no DRM card, the firmware's framebuffer, and Xorg and GNOME Shell as kiln",
        vm.label
    );
}

/// Both boot loaders of the GNOME ISO offer the default, `nomodeset` and serial-console entries,
/// the default first.
#[test]
fn gnome_iso_menus_offer_nomodeset_and_serial_entries() {
    if !slow("GNOME boot menu test", &["xorriso", "mtype"]) {
        return;
    }
    let iso = iso(GNOME);
    let dir = tempfile::tempdir().expect("temp dir");
    let extract = |from: &str| -> PathBuf {
        let to = dir
            .path()
            .join(from.trim_start_matches('/').replace('/', "_"));
        let out = Command::new("xorriso")
            .args(["-osirrox", "on", "-indev"])
            .arg(&iso)
            .args(["-extract", from])
            .arg(&to)
            .output()
            .expect("run xorriso");
        assert!(out.status.success(), "xorriso -extract {from}: {out:?}");
        to
    };
    let isolinux = std::fs::read_to_string(extract("/isolinux/isolinux.cfg")).expect("cfg");
    let labels: Vec<&str> = isolinux
        .lines()
        .filter_map(|l| l.strip_prefix("LABEL "))
        .collect();
    assert_eq!(labels, ["default", "nomodeset", "serial"], "{isolinux}");
    assert!(isolinux.contains("DEFAULT default\n"), "{isolinux}");
    let appends: Vec<&str> = isolinux
        .lines()
        .filter_map(|l| l.trim().strip_prefix("APPEND "))
        .collect();
    assert!(
        appends[0].ends_with("console=ttyS0,115200 console=tty0"),
        "{isolinux}"
    );
    assert!(appends[1].contains(" nomodeset"), "{isolinux}");
    assert!(
        appends[2].ends_with("console=tty0 console=ttyS0,115200"),
        "{isolinux}"
    );

    let esp = extract("/boot/efi.img");
    let mtype = |file: &str| -> String {
        let out = Command::new("mtype")
            .arg("-i")
            .arg(&esp)
            .arg(format!("::{file}"))
            .env("MTOOLS_SKIP_CHECK", "1")
            .output()
            .expect("run mtype");
        assert!(out.status.success(), "mtype {file}: {out:?}");
        String::from_utf8_lossy(&out.stdout).replace("\r\n", "\n")
    };
    // The installers boot UEFI through Debian's signed shim and GRUB (`isoImage.secureBoot`):
    // GRUB reads its menu from the ESP on a stick, from the ISO 9660 tree on a CD.
    let grub = mtype("EFI/debian/grub.cfg");
    let on_medium = std::fs::read_to_string(extract("/EFI/debian/grub.cfg")).expect("grub.cfg");
    assert_eq!(
        grub, on_medium,
        "the ESP's and the medium's GRUB menus differ"
    );
    assert!(grub.contains("set default=0\n"), "{grub}");
    let ids: Vec<&str> = grub
        .lines()
        .filter_map(|l| l.strip_prefix("menuentry "))
        .filter_map(|l| l.split("--id ").nth(1))
        .map(|l| l.trim_end_matches(" {"))
        .collect();
    assert_eq!(ids, ["default", "nomodeset", "serial"], "{grub}");
    let linux: Vec<&str> = grub
        .lines()
        .filter_map(|l| l.trim().strip_prefix("linux /boot/vmlinuz "))
        .collect();
    assert_eq!(linux.len(), 3, "{grub}");
    for (line, id) in linux.iter().zip(ids) {
        assert!(line.contains("'root=LABEL=KILN_GNOME'"), "{grub}");
        assert_eq!(line.contains("'nomodeset'"), id == "nomodeset", "{grub}");
    }
    assert!(
        linux[2].ends_with("'console=tty0' 'console=ttyS0,115200'"),
        "{grub}"
    );
}

/// The GNOME ISO built again, in a second store (the downloads linked in, everything else
/// rebuilt) on one thread, has the bytes of the first, built on all cores.
#[test]
fn gnome_iso_is_reproducible_across_stores_and_thread_counts() {
    if !slow("GNOME reproducibility test", &[]) {
        return;
    }
    let first = iso(GNOME);
    // Removed when the test ends, whatever the outcome, but for differing bytes outside CI:
    // a second GNOME store is 4 GiB, which a CI machine's disk may not spare.
    let scratch = kiln_testkit::tempdir_in(artifacts()).expect("scratch directory");
    let second_store = scratch.path().join("store");
    // kiln creates the rest of a store's layout when it opens it.
    std::fs::create_dir_all(second_store.join(".meta")).expect("create the second store");
    // The fetched packages and the signed index: the network is not what is compared.
    for entry in std::fs::read_dir(store()).expect("list the store") {
        let entry = entry.expect("store entry");
        let name = entry.file_name().to_string_lossy().into_owned();
        let fetched = name.ends_with(".deb")
            || name.ends_with("-InRelease")
            || name.ends_with("-Packages")
            || name.ends_with("-names");
        if fetched {
            std::fs::hard_link(entry.path(), second_store.join(&name)).expect("link an entry");
            std::fs::copy(
                store().join(".meta").join(&name),
                second_store.join(".meta").join(&name),
            )
            .expect("copy an entry's record");
        }
    }
    let link = scratch.path().join("result");
    let out = Command::new(KILN)
        .args(["build", "--locked", "--offline", "-o"])
        .arg(&link)
        .arg(GNOME)
        .current_dir(workspace())
        .env("KILN_STORE", &second_store)
        .env("RAYON_NUM_THREADS", "1")
        .output()
        .expect("run kiln");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "second build failed:\n{stderr}");
    let second = link.join("iso").join(first.file_name().expect("ISO name"));
    if !files_equal(&first, &second) {
        let kept = if std::env::var_os("CI").is_some() {
            "removed in CI".to_string()
        } else {
            format!("kept at {}", scratch.keep().display())
        };
        panic!(
            "{} and {} differ (the second store is {kept})",
            first.display(),
            second.display(),
        );
    }
}

fn files_equal(a: &Path, b: &Path) -> bool {
    let (mut a, mut b) = (
        std::fs::File::open(a).expect("open"),
        std::fs::File::open(b).expect("open"),
    );
    let (mut x, mut y) = (vec![0u8; 1 << 20], vec![0u8; 1 << 20]);
    loop {
        let n = a.read(&mut x).expect("read");
        let mut filled = 0;
        while filled < n {
            let m = b.read(&mut y[filled..n]).expect("read");
            if m == 0 {
                return false;
            }
            filled += m;
        }
        if x[..n] != y[..n] {
            return false;
        }
        if n == 0 {
            return b.read(&mut y).expect("read") == 0;
        }
    }
}
