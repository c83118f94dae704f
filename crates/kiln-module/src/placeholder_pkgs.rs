//! The package set of store-less evaluations (`kiln eval`, `options`, `explain`, the REPL):
//! `kiln build` passes kiln-driver's Debian packages instead (see [`crate::eval_modules`]).
//!
//! Each `pkgs.<debian-name>` is a derivation-shaped attribute set — `type = "derivation"`, `name`,
//! `pname`, `outPath`, `drvPath` — the shape of the driver's packages, so profiles, option
//! types (`types.package`) and `kiln explain` work without a store or network. What cannot exist
//! is a store path: `outPath`, `drvPath`, `version` and `depends` fail with a clear error when
//! forced, and never hand out a fake path that might leak into an image.
//! `kiln eval -A config.boot.kernelModules` never forces them.
//!
//! Design decision: a fixed list of the package names the profile library and its tests use
//! ([`PACKAGES`]), each built lazily on first use. A Nix attribute set has a fixed key set, so an
//! open "any name" set is not possible; a name outside the list is the evaluator's ordinary
//! missing-attribute error with close-name suggestions.

use kiln_eval::{AttrEntry, Attrs, EvalError, Symbol, Thunk, Value};

/// The Debian package names the store-less `pkgs` offers.
pub const PACKAGES: &[&str] = &[
    // Base tools (profiles/common/base.nix).
    "busybox-static",
    "parted",
    "gdisk",
    "e2fsprogs",
    "dosfstools",
    // Firmware (profiles/modules/hardware/firmware.nix).
    "firmware-linux-free",
    "firmware-misc-nonfree",
    "firmware-realtek",
    "firmware-iwlwifi",
    "firmware-atheros",
    "firmware-brcm80211",
    "firmware-amd-graphics",
    // The graphical installers.
    "xserver-xorg",
    "xinit",
    "firefox-esr",
    "gparted",
    "gnome-shell",
    "gnome-session",
    "gdm3",
    "nautilus",
    "gnome-terminal",
    "gnome-control-center",
    // The kernel and what the image builders use.
    "linux-image-amd64",
    "broadcom-sta-dkms",
    "isolinux",
    "syslinux-common",
    "systemd-boot-efi",
    "kmod",
];

/// The `pkgs` set the driver's is swapped for: every name of [`PACKAGES`], built lazily. The
/// profile library adds `linuxPackages` on top (`profiles/pkgs/default.nix`).
pub fn placeholder_pkgs() -> Value {
    let entries: Vec<AttrEntry> = PACKAGES
        .iter()
        .map(|name| entry(name, Thunk::native(move |_| Ok(package(name)))))
        .collect();
    Value::Attrs(Attrs::from_entries(entries))
}

/// The error `outPath` and `drvPath` raise. A `throw`, so `builtins.tryEval` can test for it as
/// nixpkgs code tests for unavailable packages.
pub fn no_store_path_message(name: &str) -> String {
    format!(
        "package `{name}` has no store path in this evaluation: only `kiln build` (and the REPL's `:b`) evaluate with Debian's packages"
    )
}

/// One package: `name` and `pname` are the Debian name (issue 5 adds `version` and puts it in
/// `name`, as nixpkgs' `pname-version`).
fn package(name: &'static str) -> Value {
    let unavailable = move |_: &mut kiln_eval::Evaluator| -> kiln_eval::EvalResult<Value> {
        Err(EvalError::throw(no_store_path_message(name)))
    };
    Value::Attrs(Attrs::from_entries(vec![
        entry("type", Value::string("derivation")),
        entry("name", Value::string(name)),
        entry("pname", Value::string(name)),
        entry("outPath", Thunk::native(unavailable)),
        entry("drvPath", Thunk::native(unavailable)),
        entry("version", Thunk::native(unavailable)),
        entry("depends", Thunk::native(unavailable)),
    ]))
}

fn entry(name: &str, value: Value) -> AttrEntry {
    AttrEntry {
        name: Symbol::intern(name),
        value,
        pos: None,
    }
}
