//! Kernel module closure, `modules.dep`, firmware lookup and the real-kernel tests (split out of
//! the initrd test binary for size; the helpers live in `main.rs`).

use super::*;

// ---- kernel modules ----

/// Writes an x86-64 ELF relocatable object whose `.modinfo` holds `modinfo` (NUL-separated),
/// like a `.ko` file as far as kiln reads it.
fn write_ko(path: &Path, modinfo: &[&str]) {
    use object::write::Object;
    use object::{Architecture, BinaryFormat, Endianness, SectionKind};
    let mut obj = Object::new(BinaryFormat::Elf, Architecture::X86_64, Endianness::Little);
    let section = obj.add_section(
        Vec::new(),
        b".modinfo".to_vec(),
        SectionKind::ReadOnlyString,
    );
    let mut data = Vec::new();
    for item in modinfo {
        data.extend_from_slice(item.as_bytes());
        data.push(0);
    }
    obj.append_section_data(section, &data, 1);
    let text = obj.add_section(Vec::new(), b".text".to_vec(), SectionKind::Text);
    obj.append_section_data(text, &[0xc3], 1);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, obj.write().unwrap()).unwrap();
}

/// A kernel tree shaped like bookworm's plus an extra tree with `wl`.
struct Trees {
    _dir: tempfile::TempDir,
    kernel: PathBuf,
    extra: PathBuf,
}

fn make_trees() -> Trees {
    let dir = tempfile::tempdir().unwrap();
    let kernel = dir.path().join("kernel-pkg/lib/modules/6.1.0-13-amd64");
    let extra = dir.path().join("broadcom-sta/lib/modules/6.1.0-13-amd64");
    let k = |rel: &str, info: &[&str]| write_ko(&kernel.join(rel), info);
    k(
        "kernel/net/rfkill/rfkill.ko",
        &["name=rfkill", "depends=", "vermagic=6.1.0-13-amd64 SMP"],
    );
    k(
        "kernel/net/wireless/cfg80211.ko",
        &[
            "name=cfg80211",
            "depends=rfkill",
            "firmware=regulatory.db",
            "firmware=regulatory.db.p7s",
        ],
    );
    k(
        "kernel/net/wireless/lib80211.ko",
        &["name=lib80211", "depends="],
    );
    k(
        "kernel/net/wireless/lib80211_crypt_tkip.ko",
        &["name=lib80211_crypt_tkip", "depends=lib80211"],
    );
    k(
        "kernel/crypto/crc32c_generic.ko",
        &[
            "name=crc32c_generic",
            "alias=crypto-crc32c",
            "alias=crc32c",
            "depends=",
        ],
    );
    k(
        "kernel/fs/btrfs/btrfs.ko",
        &[
            "name=btrfs",
            "depends=libcrc32c",
            "softdep=pre: crc32c post: no-such-module",
            "alias=fs-btrfs",
        ],
    );
    k(
        "kernel/lib/libcrc32c.ko",
        &["name=libcrc32c", "depends=", "softdep=pre: crc32c"],
    );
    // No `name=`: the stem, with `-` normalised, names it.
    k(
        "kernel/sound/pci/hda/snd-hda-intel.ko",
        &[
            "depends=snd_hda_codec",
            "alias=pci:v00008086d*sv*sd*bc04sc03i00*",
        ],
    );
    k("kernel/sound/pci/hda/snd-hda-codec.ko", &["depends="]);
    // A cycle through softdeps only (allowed) and one through depends= (an error).
    k("kernel/misc/soft_a.ko", &["name=soft_a", "depends=soft_b"]);
    k(
        "kernel/misc/soft_b.ko",
        &["name=soft_b", "softdep=pre: soft_a"],
    );
    k("kernel/misc/hard_a.ko", &["name=hard_a", "depends=hard_b"]);
    k("kernel/misc/hard_b.ko", &["name=hard_b", "depends=hard_a"]);
    k(
        "kernel/misc/broken.ko",
        &["name=broken", "depends=not_there"],
    );
    k(
        "kernel/drivers/net/wireless/broadcom/brcm80211/brcmfmac/brcmfmac.ko",
        &[
            "name=brcmfmac",
            "depends=cfg80211",
            "firmware=brcm/brcmfmac43602-pcie.bin",
            "firmware=brcm/brcmfmac*-sdio.*.txt",
            "firmware=brcm/brcmfmac4350-pcie.bin",
        ],
    );
    write_ko(
        &extra.join("extra/wl.ko"),
        &[
            "name=wl",
            "depends=cfg80211,lib80211",
            "softdep=post: lib80211_crypt_tkip",
            "alias=pci:v000014E4d00004311sv*sd*bc02sc80i*",
            "alias=pci:v000014E4d00004727sv*sd*bc02sc80i*",
        ],
    );
    std::fs::write(
        kernel.join("modules.builtin"),
        "kernel/fs/ext4/ext4.ko\nkernel/drivers/block/loop.ko\n",
    )
    .unwrap();
    std::fs::write(
        kernel.join("modules.builtin.modinfo"),
        b"ext4.alias=fs-ext4\0ext4.license=GPL\0loop.alias=devname:loop-control\0",
    )
    .unwrap();
    // `build`/`source` links to headers are skipped.
    std::os::unix::fs::symlink("/nonexistent", kernel.join("build")).unwrap();
    Trees {
        _dir: dir,
        kernel,
        extra,
    }
}

fn index(trees: &Trees) -> kmod::ModuleIndex {
    kmod::index_modules(&[
        ModuleTree {
            root: trees.kernel.clone(),
        },
        ModuleTree {
            root: trees.extra.clone(),
        },
    ])
    .unwrap()
}

#[test]
fn kmod_index_reads_modinfo() {
    let trees = make_trees();
    let index = index(&trees);
    assert_eq!(index.modules.len(), 16);
    let wl = index.get("wl").unwrap();
    assert_eq!(wl.rel_path, "extra/wl.ko");
    assert_eq!(wl.info.depends, ["cfg80211", "lib80211"]);
    assert_eq!(index.get("snd-hda-intel").unwrap().name, "snd_hda_intel");
    assert_eq!(
        index.get("rfkill").unwrap().info.vermagic.as_deref(),
        Some("6.1.0-13-amd64 SMP")
    );
}

#[test]
fn kmod_closure_dependencies_first() {
    let trees = make_trees();
    let index = index(&trees);
    let closure = kmod::resolve(&index, &["wl"]).unwrap();
    assert_eq!(
        closure.modules,
        [
            "rfkill",
            "cfg80211",
            "lib80211",
            "wl",
            "lib80211_crypt_tkip"
        ]
    );
    assert_eq!(closure.firmware, ["regulatory.db", "regulatory.db.p7s"]);
    // Requests in `-` form, and a module already pulled in, are fine.
    let closure = kmod::resolve(&index, &["snd-hda-intel", "snd_hda_codec"]).unwrap();
    assert_eq!(closure.modules, ["snd_hda_codec", "snd_hda_intel"]);
}

#[test]
fn kmod_closure_softdeps() {
    let trees = make_trees();
    let index = index(&trees);
    let closure = kmod::resolve(&index, &["btrfs"]).unwrap();
    // `crc32c` is an alias of crc32c_generic; pre-softdeps load before, and the missing
    // post-softdep is reported, not fatal.
    assert_eq!(closure.modules, ["crc32c_generic", "libcrc32c", "btrfs"]);
    assert_eq!(closure.missing_softdeps, ["no-such-module"]);
}

#[test]
fn kmod_closure_cycles() {
    let trees = make_trees();
    let index = index(&trees);
    let closure = kmod::resolve(&index, &["soft_a"]).unwrap();
    assert_eq!(closure.modules, ["soft_b", "soft_a"]);
    let err = kmod::resolve(&index, &["hard_a"]).unwrap_err();
    assert_eq!(code(&err), "kiln::image::module_cycle");
    assert_eq!(
        err.to_string(),
        "kernel modules depend on each other in a cycle: hard_a -> hard_b -> hard_a"
    );
    let err = kmod::resolve(&index, &["broken"]).unwrap_err();
    assert_eq!(code(&err), "kiln::image::missing_dependency");
}

#[test]
fn kmod_closure_aliases() {
    let trees = make_trees();
    let index = index(&trees);
    let closure = kmod::resolve(
        &index,
        &["pci:v000014E4d00004727sv0000106Bsd0000008Dbc02sc80i00"],
    )
    .unwrap();
    assert!(closure.modules.contains(&"wl".to_owned()));
    let closure = kmod::resolve(&index, &["fs-btrfs"]).unwrap();
    assert_eq!(closure.modules.last().map(String::as_str), Some("btrfs"));
}

#[test]
fn kmod_builtin_modules_are_satisfied() {
    let trees = make_trees();
    let index = index(&trees);
    let closure = kmod::resolve(&index, &["fs-ext4", "loop", "rfkill"]).unwrap();
    assert_eq!(closure.modules, ["rfkill"]);
    assert_eq!(closure.builtin, ["ext4", "loop"]);
}

#[test]
fn kmod_unknown_module_suggests() {
    let trees = make_trees();
    let index = index(&trees);
    let err = kmod::resolve(&index, &["cfg8021"]).unwrap_err();
    assert_eq!(code(&err), "kiln::image::unknown_module");
    match &err {
        ImageError::UnknownModule { suggestions, .. } => {
            assert_eq!(suggestions.first().map(String::as_str), Some("cfg80211"))
        }
        other => panic!("{other:?}"),
    }
    assert!(err.to_string().contains("did you mean `cfg80211`"), "{err}");
}

#[test]
fn kmod_modules_dep_format() {
    let trees = make_trees();
    let index = index(&trees);
    let closure = kmod::resolve(&index, &["wl", "btrfs"]).unwrap();
    let expected = "\
extra/wl.ko: kernel/net/wireless/lib80211.ko kernel/net/wireless/cfg80211.ko kernel/net/rfkill/rfkill.ko
kernel/crypto/crc32c_generic.ko:
kernel/fs/btrfs/btrfs.ko: kernel/lib/libcrc32c.ko
kernel/lib/libcrc32c.ko:
kernel/net/rfkill/rfkill.ko:
kernel/net/wireless/cfg80211.ko: kernel/net/rfkill/rfkill.ko
kernel/net/wireless/lib80211.ko:
kernel/net/wireless/lib80211_crypt_tkip.ko: kernel/net/wireless/lib80211.ko
";
    assert_eq!(kmod::modules_dep(&index, &closure), expected);
    let alias = kmod::modules_alias(&index, &closure);
    assert!(
        alias.contains("alias pci:v000014E4d00004311sv*sd*bc02sc80i* wl\n"),
        "{alias}"
    );
    assert!(
        alias.contains("alias crypto-crc32c crc32c_generic\n"),
        "{alias}"
    );
    let softdep = kmod::modules_softdep(&index, &closure);
    assert!(
        softdep.contains("softdep btrfs pre: crc32c post: no-such-module\n"),
        "{softdep}"
    );
}

#[test]
fn kmod_bad_module_file_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("lib/modules/6.1.0");
    std::fs::create_dir_all(root.join("kernel")).unwrap();
    std::fs::write(root.join("kernel/bad.ko"), b"not an elf").unwrap();
    let err = kmod::index_modules(&[ModuleTree { root }]).unwrap_err();
    assert_eq!(code(&err), "kiln::image::bad_module");
}

#[test]
fn initrd_module_and_firmware_entries() {
    let trees = make_trees();
    let index = index(&trees);
    let closure = kmod::resolve(&index, &["wl"]).unwrap();
    let fw_dir = tempfile::tempdir().unwrap();
    std::fs::write(fw_dir.path().join("regulatory.db"), b"db").unwrap();
    let lookup = find_firmware(&closure.firmware, &[fw_dir.path().to_path_buf()]).unwrap();
    assert_eq!(lookup.missing, ["regulatory.db.p7s"]);
    let mut entries = initrd::module_entries(&index, &closure, "6.1.0-13-amd64").unwrap();
    entries.extend(initrd::firmware_entries(&lookup).unwrap());
    let mut out = Vec::new();
    cpio::write_newc(&mut out, entries, &CpioOptions::default()).unwrap();
    let back = read_newc(&out).unwrap();
    let files: Vec<&str> = back
        .iter()
        .filter(|e| e.mode & cpio::S_IFMT == cpio::S_IFREG)
        .map(|e| e.path.as_str())
        .collect();
    assert_eq!(
        files,
        [
            "lib/firmware/regulatory.db",
            "lib/modules/6.1.0-13-amd64/extra/wl.ko",
            "lib/modules/6.1.0-13-amd64/kernel/net/rfkill/rfkill.ko",
            "lib/modules/6.1.0-13-amd64/kernel/net/wireless/cfg80211.ko",
            "lib/modules/6.1.0-13-amd64/kernel/net/wireless/lib80211.ko",
            "lib/modules/6.1.0-13-amd64/kernel/net/wireless/lib80211_crypt_tkip.ko",
            "lib/modules/6.1.0-13-amd64/modules.alias",
            "lib/modules/6.1.0-13-amd64/modules.dep",
            "lib/modules/6.1.0-13-amd64/modules.softdep",
        ]
    );
    let wl = back.iter().find(|e| e.path.ends_with("wl.ko")).unwrap();
    assert_eq!(
        wl.data,
        std::fs::read(trees.extra.join("extra/wl.ko")).unwrap()
    );
    assert!(initrd::module_entries(&index, &closure, "../x").is_err());
}

#[test]
fn firmware_lookup_plain_compressed_glob_missing() {
    let trees = make_trees();
    let index = index(&trees);
    let closure = kmod::resolve(&index, &["brcmfmac"]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let debian = dir.path().join("firmware-brcm80211/lib/firmware");
    let other = dir.path().join("wireless-regdb/lib/firmware");
    std::fs::create_dir_all(debian.join("brcm")).unwrap();
    std::fs::create_dir_all(&other).unwrap();
    std::fs::write(debian.join("brcm/brcmfmac43602-pcie.bin"), b"fw").unwrap();
    std::fs::write(
        debian.join("brcm/brcmfmac43455-sdio.raspberrypi,4-model-b.txt"),
        b"nvram",
    )
    .unwrap();
    std::fs::write(
        debian.join("brcm/brcmfmac43430-sdio.AP6212.txt.zst"),
        b"zst",
    )
    .unwrap();
    std::fs::write(other.join("regulatory.db.xz"), b"xz").unwrap();
    std::fs::write(other.join("regulatory.db.p7s"), b"sig").unwrap();
    let lookup = find_firmware(&closure.firmware, &[debian.clone(), other.clone()]).unwrap();
    let found: Vec<(&str, &Path)> = lookup
        .found
        .iter()
        .map(|f| (f.dest.as_str(), f.source.as_path()))
        .collect();
    assert_eq!(
        found,
        [
            (
                "brcm/brcmfmac43430-sdio.AP6212.txt.zst",
                debian
                    .join("brcm/brcmfmac43430-sdio.AP6212.txt.zst")
                    .as_path()
            ),
            (
                "brcm/brcmfmac43455-sdio.raspberrypi,4-model-b.txt",
                debian
                    .join("brcm/brcmfmac43455-sdio.raspberrypi,4-model-b.txt")
                    .as_path()
            ),
            (
                "brcm/brcmfmac43602-pcie.bin",
                debian.join("brcm/brcmfmac43602-pcie.bin").as_path()
            ),
            (
                "regulatory.db.p7s",
                other.join("regulatory.db.p7s").as_path()
            ),
            ("regulatory.db.xz", other.join("regulatory.db.xz").as_path()),
        ]
    );
    assert_eq!(lookup.missing, ["brcm/brcmfmac4350-pcie.bin"]);
}

// ---- a real Debian kernel (KILN_SLOW_TESTS=1 and KILN_TEST_KERNEL_MODULES) ----

/// Indexes a real bookworm module tree and checks the closure of the live medium's modules
/// plus brcmfmac against `depmod -n`. Needs `KILN_TEST_KERNEL_MODULES=/x/lib/modules/<version>`
/// (`apt-get download linux-image-6.1.0-NN-amd64 && dpkg-deb -x …`), so CI without the
/// download skips it with a message, even under `KILN_SLOW_TESTS=1`.
#[test]
fn bookworm_kernel_closure_matches_depmod() {
    let test = "bookworm_kernel_closure_matches_depmod";
    let Ok(modules_dir) = std::env::var("KILN_TEST_KERNEL_MODULES") else {
        eprintln!("{test}: skipped, set KILN_TEST_KERNEL_MODULES=/…/lib/modules/<version> (and KILN_SLOW_TESTS=1)");
        return;
    };
    if !have_tools(test, &["depmod"]) {
        return;
    }
    let root = PathBuf::from(&modules_dir);
    let start = std::time::Instant::now();
    let index = kmod::index_modules(&[ModuleTree { root: root.clone() }]).unwrap();
    eprintln!(
        "{test}: indexed {} modules in {:?}",
        index.modules.len(),
        start.elapsed()
    );
    assert!(index.modules.len() > 3500, "{}", index.modules.len());

    let requested = [
        "isofs",
        "loop",
        "squashfs",
        "overlay",
        "sr_mod",
        "virtio_blk",
        "virtio-pci",
        "usb-storage",
        "uas",
        "ahci",
        "nvme",
        "ext4",
        "vfat",
        "brcmfmac",
        "cfg80211",
        "fs-btrfs",
    ];
    let closure = kmod::resolve(&index, &requested).unwrap();
    eprintln!(
        "{test}: {} modules, {} firmware names, builtin {:?}",
        closure.modules.len(),
        closure.firmware.len(),
        closure.builtin
    );
    // Load order: every dependency before its dependent.
    for (idx, name) in closure.modules.iter().enumerate() {
        for dep in &index.modules[name].info.depends {
            let dep_idx = closure.modules.iter().position(|m| m == dep).unwrap();
            assert!(dep_idx < idx, "{dep} after {name}");
        }
    }
    let position = |name: &str| closure.modules.iter().position(|m| m == name).unwrap();
    assert!(position("cfg80211") < position("brcmfmac"));
    assert!(position("rfkill") < position("cfg80211"));
    assert!(closure
        .firmware
        .iter()
        .any(|f| f.starts_with("brcm/brcmfmac")));

    // `modules.dep` lines agree with depmod's as sets (depmod orders deps its own way).
    let version = root.file_name().unwrap().to_str().unwrap();
    let base = root
        .parent()
        .and_then(Path::parent)
        .and_then(Path::parent)
        .unwrap();
    let output = Command::new("depmod")
        .arg("-b")
        .arg(base)
        .args(["-n", version])
        .output()
        .unwrap();
    assert!(output.status.success());
    let depmod = String::from_utf8(output.stdout).unwrap();
    let parse = |line: &str| -> Option<(String, BTreeSet<String>)> {
        let (module, deps) = line
            .split_once(": ")
            .or_else(|| line.strip_suffix(':').map(|m| (m, "")))?;
        module.ends_with(".ko").then(|| {
            (
                module.to_owned(),
                deps.split_whitespace().map(str::to_owned).collect(),
            )
        })
    };
    let reference: BTreeMap<String, BTreeSet<String>> = depmod.lines().filter_map(parse).collect();
    let ours = kmod::modules_dep(&index, &closure);
    for line in ours.lines() {
        let (module, deps) = parse(line).unwrap();
        assert_eq!(Some(&deps), reference.get(&module), "{module}");
    }
}

/// Boots the real kernel under QEMU (TCG) with an initrd kiln wrote: busybox, an `/init` that
/// loads `cfg80211` with busybox `modprobe` (which must follow kiln's `modules.dep` to load
/// `rfkill` first) and prints `/proc/modules` on the serial console. Proves the kernel unpacks
/// kiln's zstd newc archive and that `modules.dep` works. Needs `KILN_TEST_KERNEL_MODULES` as
/// above with `boot/vmlinuz-<version>` beside it, `qemu-system-x86_64` and a static busybox.
#[test]
fn qemu_boots_kiln_initrd_and_modprobe_follows_modules_dep() {
    let test = "qemu_boots_kiln_initrd_and_modprobe_follows_modules_dep";
    let Ok(modules_dir) = std::env::var("KILN_TEST_KERNEL_MODULES") else {
        eprintln!("{test}: skipped, set KILN_TEST_KERNEL_MODULES=/…/lib/modules/<version> (and KILN_SLOW_TESTS=1)");
        return;
    };
    if !have_tools(test, &["qemu-system-x86_64", "busybox"]) {
        return;
    }
    let root = PathBuf::from(&modules_dir);
    let version = root.file_name().unwrap().to_str().unwrap().to_owned();
    let base = root
        .parent()
        .and_then(Path::parent)
        .and_then(Path::parent)
        .unwrap();
    let kernel = base.join(format!("boot/vmlinuz-{version}"));
    assert!(kernel.is_file(), "{} missing", kernel.display());
    let busybox = PathBuf::from("/bin/busybox");

    let index = kmod::index_modules(&[ModuleTree { root: root.clone() }]).unwrap();
    let closure = kmod::resolve(&index, &["cfg80211"]).unwrap();
    let mut entries = initrd::module_entries(&index, &closure, &version).unwrap();
    let init = "#!/bin/sh\n\
        /bin/busybox mkdir -p /proc /sys\n\
        /bin/busybox mount -t proc proc /proc\n\
        echo KILN-INITRD-OK\n\
        /bin/busybox modprobe cfg80211 || echo KILN-MODPROBE-FAILED\n\
        echo KILN-MODULES: $(/bin/busybox cut -d' ' -f1 /proc/modules)\n\
        /bin/busybox poweroff -f\n";
    entries.extend([
        Entry::file(p("bin/busybox"), 0o755, &busybox),
        Entry::symlink(p("bin/sh"), "busybox"),
        Entry::symlink(p("sbin/modprobe"), "../bin/busybox"),
        Entry::bytes(p("init"), 0o755, init.as_bytes().to_vec()),
        Entry::char_device(p("dev/console"), 0o600, 5, 1),
    ]);
    let dir = tempfile::tempdir().unwrap();
    // Every compressor the kernel must unpack: xz in particular needs the CRC32 check.
    for compressor in [
        Compressor::default(),
        Compressor::Xz { level: 6 },
        Compressor::Gzip { level: 6 },
    ] {
        let initrd_path = dir.path().join("initrd");
        cpio::write_initrd(
            &initrd_path,
            entries.clone(),
            &CpioOptions::default(),
            compressor,
        )
        .unwrap();
        let output = Command::new("timeout")
            .arg("240")
            .arg("qemu-system-x86_64")
            .args([
                "-m",
                "512",
                "-display",
                "none",
                "-serial",
                "stdio",
                "-no-reboot",
                "-kernel",
            ])
            .arg(&kernel)
            .arg("-initrd")
            .arg(&initrd_path)
            .args(["-append", "console=ttyS0 panic=-1 quiet"])
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let console = String::from_utf8_lossy(&output.stdout);
        assert!(
            console.contains("KILN-INITRD-OK"),
            "{compressor:?}: kernel did not run /init:\n{console}"
        );
        assert!(
            !console.contains("KILN-MODPROBE-FAILED"),
            "{compressor:?}: {console}"
        );
        let modules = console
            .lines()
            .find(|l| l.contains("KILN-MODULES:"))
            .unwrap_or_default();
        eprintln!("{test}: {compressor:?}: {modules}");
        assert!(
            modules.contains("cfg80211") && modules.contains("rfkill"),
            "{compressor:?}: {console}"
        );
    }
}
