//! `kiln run`: build a profile's ISO if needed and boot it in QEMU, as `mkosi qemu` and NixOS's
//! `build-vm` do. The store's image is never written: QEMU reads a CD read-only, and a USB stick
//! gets a throw-away overlay (`snapshot=on`) that QEMU deletes when it exits.

use miette::{miette, IntoDiagnostic};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::Duration;

use crate::cmd_build::{build_attrs, BuildAttrs, DEFAULT_ATTR};

const QEMU: &str = "qemu-system-x86_64";
/// Where Debian's `ovmf` package puts the firmware and its variable store: the host's copy,
/// and the same paths inside the package's store entry.
const OVMF_SECURE_BOOT: [(&str, &str); 1] = [(
    "usr/share/OVMF/OVMF_CODE_4M.secboot.fd",
    "usr/share/OVMF/OVMF_VARS_4M.ms.fd",
)];
const OVMF: [(&str, &str); 2] = [
    (
        "usr/share/OVMF/OVMF_CODE_4M.fd",
        "usr/share/OVMF/OVMF_VARS_4M.fd",
    ),
    ("usr/share/OVMF/OVMF_CODE.fd", "usr/share/OVMF/OVMF_VARS.fd"),
];

/// Build a profile's ISO image if needed and boot it in QEMU, the serial console on this
/// terminal (Ctrl-A X quits, Ctrl-A C is QEMU's monitor).
#[derive(clap::Args)]
pub(crate) struct Args {
    /// The profile (default as for `kiln build`).
    profile: Option<PathBuf>,
    /// Add a search path entry (`name=path` or `path`), as `nix-build -I`.
    #[arg(short = 'I', value_name = "PATH")]
    include: Vec<String>,
    /// Boot with UEFI firmware (OVMF) instead of BIOS.
    #[arg(long)]
    uefi: bool,
    /// Boot with UEFI firmware that enforces Secure Boot with Microsoft's keys enrolled, as a PC
    /// from the shop (OVMF's `secboot` build, q35 with SMM); the image needs
    /// `isoImage.secureBoot`.
    #[arg(long)]
    secure_boot: bool,
    /// Where OVMF comes from (with `--uefi` or `--secure-boot`).
    #[arg(long, value_enum, default_value = "auto")]
    ovmf: OvmfSource,
    /// Attach the image as a USB stick (xHCI) instead of a CD.
    #[arg(long)]
    usb: bool,
    /// The guest's memory, in MiB.
    #[arg(long, value_name = "MIB", default_value_t = 2048)]
    memory: u32,
    /// The guest's virtual CPUs.
    #[arg(long, value_name = "N", default_value_t = 2)]
    cpus: u32,
    /// Open a window on the guest's screen; the serial console stays on the terminal.
    #[arg(long)]
    graphics: bool,
    /// Use only what the store holds; fail naming what is missing.
    #[arg(long)]
    offline: bool,
    /// Fail instead of adding packages the lock lacks.
    #[arg(long)]
    locked: bool,
    /// The store (default: `$KILN_STORE`, else `~/.cache/kiln/store`).
    #[arg(long, value_name = "DIR")]
    store: Option<PathBuf>,
    /// More arguments for QEMU, after `--` (`kiln run -- -nic none`).
    #[arg(last = true, value_name = "QEMU_ARGS")]
    qemu_args: Vec<OsString>,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum OvmfSource {
    /// The host's when it has one, else the lock's.
    Auto,
    /// The host's `/usr/share/OVMF` (Debian's `ovmf` package).
    Host,
    /// Debian's `ovmf` package from the profile's lock, built into the store.
    Lock,
}

pub(crate) fn run(args: Args) -> miette::Result<ExitCode> {
    // Before building: a missing QEMU should not cost a build.
    let qemu = find_program(QEMU).ok_or_else(|| {
        miette!(
            code = "kiln::run::no_qemu",
            help = "install it: `apt install qemu-system-x86` on Debian and Ubuntu",
            "`{QEMU}` is not on PATH; `kiln run` boots the image with it"
        )
    })?;
    let uefi = args.uefi || args.secure_boot;
    let host_ovmf = ovmf_files(&args)
        .iter()
        .map(|(code, vars)| (Path::new("/").join(code), Path::new("/").join(vars)))
        .find(|(code, vars)| code.is_file() && vars.is_file());
    let ovmf_from_lock = uefi
        && match args.ovmf {
            OvmfSource::Lock => true,
            OvmfSource::Auto => host_ovmf.is_none(),
            OvmfSource::Host if host_ovmf.is_none() => {
                return Err(miette!(
                    code = "kiln::run::no_ovmf",
                    help = "install Debian's `ovmf` package, or use `--ovmf lock` for the lock's",
                    "no OVMF firmware under /usr/share/OVMF"
                ))
            }
            OvmfSource::Host => false,
        };
    let mut attrs = vec![DEFAULT_ATTR];
    if ovmf_from_lock {
        attrs.push("pkgs.ovmf");
    }
    let request = BuildAttrs {
        profile: args.profile.as_deref(),
        attrs: &attrs,
        include: &args.include,
        store: args.store.clone(),
        offline: args.offline,
        locked: args.locked,
    };
    // QEMU runs inside: the session's temporary roots keep the image from `kiln store gc`.
    build_attrs(request, |built| {
        boot(&qemu, &args, built, ovmf_from_lock, host_ovmf)
    })
}

/// Boots what `build_attrs` built: the ISO, then OVMF's package when it comes from the lock.
fn boot(
    qemu: &Path,
    args: &Args,
    built: &[PathBuf],
    ovmf_from_lock: bool,
    host_ovmf: Option<(PathBuf, PathBuf)>,
) -> miette::Result<ExitCode> {
    let iso = find_iso(&built[0])?;
    let ovmf = if ovmf_from_lock {
        let package = &built[1];
        let found = ovmf_files(args)
            .iter()
            .map(|(code, vars)| (package.join(code), package.join(vars)))
            .find(|(code, vars)| code.is_file() && vars.is_file());
        Some(found.ok_or_else(|| {
            miette!(
                code = "kiln::run::no_ovmf",
                "the lock's `ovmf` package ({}) holds no OVMF_CODE and OVMF_VARS",
                package.display()
            )
        })?)
    } else if args.uefi || args.secure_boot {
        host_ovmf
    } else {
        None
    };

    // The firmware writes its variables; the copy goes when QEMU is done.
    let scratch = tempfile::tempdir().into_diagnostic()?;
    let mut command = Command::new(qemu);
    command
        .args(["-m", &args.memory.to_string()])
        .args(["-smp", &args.cpus.to_string()]);
    match kvm_unusable(&command, scratch.path()) {
        None => {
            command.args(["-accel", "kvm", "-cpu", "host"]);
        }
        Some(reason) => {
            eprintln!("kiln run: no KVM ({reason}); emulating with TCG, which is much slower");
            command.args(["-accel", "tcg"]);
        }
    }
    if !args.graphics {
        command.args(["-display", "none"]);
    }
    // The serial console and QEMU's monitor share the terminal (Ctrl-A C switches).
    command.args(["-serial", "mon:stdio"]);
    if args.secure_boot {
        // SMM keeps the variable store, and so the enrolled keys, out of the guest's reach.
        command
            .args(["-machine", "q35,smm=on"])
            .args(["-global", "driver=cfi.pflash01,property=secure,value=on"]);
    }
    if let Some((code, vars)) = ovmf {
        let copy = scratch.path().join("OVMF_VARS.fd");
        std::fs::copy(&vars, &copy)
            .map_err(|err| miette!("copying {} to {}: {err}", vars.display(), copy.display()))?;
        command
            .arg("-drive")
            .arg(drive("if=pflash,format=raw,readonly=on", &code));
        command
            .arg("-drive")
            .arg(drive("if=pflash,format=raw", &copy));
    }
    if args.usb {
        command
            .arg("-drive")
            .arg(drive("if=none,id=stick,format=raw,snapshot=on", &iso))
            .args(["-device", "qemu-xhci"])
            .args(["-device", "usb-storage,drive=stick,bootindex=0"]);
    } else {
        command
            .arg("-drive")
            .arg(drive("media=cdrom,format=raw,readonly=on", &iso));
    }
    command.args(&args.qemu_args);

    eprintln!(
        "kiln run: booting {} ({}, {}); Ctrl-A X quits",
        iso.display(),
        if args.secure_boot {
            "UEFI, Secure Boot"
        } else if args.uefi {
            "UEFI"
        } else {
            "BIOS"
        },
        if args.usb { "USB stick" } else { "CD" }
    );
    // Ctrl-C on a terminal QEMU has not made raw reaches QEMU too, which stops the guest; kiln
    // waits for it instead of leaving it behind.
    let interrupted = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let _ = signal_hook::flag::register(signal_hook::consts::SIGINT, interrupted);
    let status = command
        .status()
        .map_err(|err| miette!(code = "kiln::run::qemu", "starting {QEMU}: {err}"))?;
    Ok(match status.code() {
        Some(0) => ExitCode::SUCCESS,
        Some(code) => {
            eprintln!("kiln run: {QEMU} exited with status {code}");
            ExitCode::from(u8::try_from(code).unwrap_or(1))
        }
        None => {
            eprintln!("kiln run: {QEMU} was killed by a signal");
            ExitCode::FAILURE
        }
    })
}

/// The firmware and variable files to look for, in order.
fn ovmf_files(args: &Args) -> &'static [(&'static str, &'static str)] {
    if args.secure_boot {
        &OVMF_SECURE_BOOT
    } else {
        &OVMF
    }
}

/// A `-drive` argument: `options` then the file, with QEMU's escaping of commas.
fn drive(options: &str, file: &Path) -> OsString {
    let mut arg = OsString::from(format!("{options},file="));
    arg.push(file.as_os_str().to_string_lossy().replace(',', ",,"));
    arg
}

/// The one ISO in an `isoImage` output's `iso/` directory.
fn find_iso(output: &Path) -> miette::Result<PathBuf> {
    let dir = output.join("iso");
    let isos: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map_err(|err| miette!("reading {}: {err}", dir.display()))?
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "iso"))
        .collect();
    match isos.as_slice() {
        [iso] => Ok(iso.clone()),
        _ => Err(miette!(
            code = "kiln::run::no_iso",
            "{} holds {} ISO images; `kiln run` boots `config.system.build.isoImage`, which has one",
            dir.display(),
            isos.len()
        )),
    }
}

/// Why KVM cannot be used, or `None` when it can. `/dev/kvm` may exist and still fail (no
/// permission, nested virtualisation without the CPU features `-cpu host` asks for), so QEMU
/// boots a one-sector guest with the accelerator and CPU the real run uses: it writes to QEMU's
/// `isa-debug-exit` port, which ends QEMU with status 99 (`0x31 << 1 | 1`).
fn kvm_unusable(qemu: &Command, scratch: &Path) -> Option<String> {
    if !Path::new("/dev/kvm").exists() {
        return Some("/dev/kvm does not exist".into());
    }
    // mov al, 0x31; out 0xf4, al; hlt; jmp $-1; then the boot signature.
    let mut sector = vec![0xb0, 0x31, 0xe6, 0xf4, 0xf4, 0xeb, 0xfd];
    sector.resize(510, 0);
    sector.extend([0x55, 0xaa]);
    let image = scratch.join("kvm-probe.img");
    if let Err(err) = std::fs::write(&image, &sector) {
        return Some(format!("writing {}: {err}", image.display()));
    }
    let mut probe = Command::new(qemu.get_program());
    probe
        .args([
            "-accel", "kvm", "-cpu", "host", "-machine", "pc", "-m", "16",
        ])
        .args(["-nodefaults", "-no-reboot", "-display", "none"])
        .args(["-serial", "none", "-monitor", "none"])
        .args(["-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"])
        .arg("-drive")
        .arg(drive("format=raw,if=ide", &image))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let Ok(mut child) = probe.spawn() else {
        return Some(format!("{QEMU} did not start"));
    };
    // Under KVM the guest is done in well under a second; a broken KVM may hang instead.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if std::time::Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(20))
            }
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
        }
    };
    let mut stderr = String::new();
    if let Some(mut pipe) = child.stderr.take() {
        let _ = std::io::Read::read_to_string(&mut pipe, &mut stderr);
    }
    let first_line = || {
        stderr
            .lines()
            .find(|line| !line.trim().is_empty())
            .map(|line| line.trim_start_matches(&format!("{QEMU}: ")).to_string())
    };
    match status {
        Some(status) if status.code() == Some(99) => None,
        Some(_) => Some(first_line().unwrap_or_else(|| "QEMU could not boot with it".into())),
        None => Some("a test guest did not finish under it within 20 s".into()),
    }
}

/// `name` on `PATH`, as the shell would find it.
fn find_program(name: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| {
            std::fs::metadata(candidate)
                .is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
        })
}
