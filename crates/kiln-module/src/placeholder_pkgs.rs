//! The package set profiles receive as `pkgs` until kiln can fetch Debian packages (issue 5).
//!
//! Each `pkgs.<debian-name>` is a derivation-shaped attribute set — `type = "derivation"`, `name`,
//! `pname`, `outPath`, `drvPath` — the shape issue 5's real packages will have, so profiles, option
//! types (`types.package`) and `kiln explain` work with it today. What cannot exist yet is a store
//! path: `outPath` and `drvPath` fail with a clear error when forced (interpolating `"${pkgs.x}"`,
//! `builtins.toJSON`, `==` between packages), and never hand out a fake path that might leak into an
//! image. `kiln eval -A config.boot.kernelModules` never forces them.
//!
//! Design decision: a fixed list of the package names the profile library and its tests use
//! ([`PACKAGES`]), each built lazily on first use. A Nix attribute set has a fixed key set, so an
//! open "any name" set is not possible; a name outside the list is the evaluator's ordinary
//! missing-attribute error with close-name suggestions. Issue 5 replaces this whole module with
//! the set built from Debian's signed package index.

use kiln_eval::{AttrEntry, Attrs, EvalError, Symbol, Thunk, Value};

/// The Debian package names `pkgs` offers until the real index arrives (issue 5).
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
];

/// The Debian package of bookworm's default kernel (`pkgs.linuxPackages.kernel`).
pub const KERNEL_PACKAGE: &str = "linux-image-amd64";
/// The Debian source of Broadcom's `wl` driver (`pkgs.linuxPackages.broadcom_sta`), which issue 5
/// builds against the kernel's headers.
pub const BROADCOM_STA_PACKAGE: &str = "broadcom-sta-dkms";

/// The `pkgs` set: every name of [`PACKAGES`] plus `linuxPackages`, all built lazily.
pub fn placeholder_pkgs() -> Value {
    let mut entries: Vec<AttrEntry> = PACKAGES
        .iter()
        .map(|name| entry(name, Thunk::native(move |_| Ok(package(name)))))
        .collect();
    let linux_packages = Thunk::native(|_| {
        Ok(Value::Attrs(Attrs::from_entries(vec![
            entry("kernel", Thunk::native(|_| Ok(package(KERNEL_PACKAGE)))),
            entry(
                "broadcom_sta",
                Thunk::native(|_| Ok(package(BROADCOM_STA_PACKAGE))),
            ),
        ])))
    });
    entries.push(entry("linuxPackages", linux_packages));
    Value::Attrs(Attrs::from_entries(entries))
}

/// The error `outPath` and `drvPath` raise. A `throw`, so `builtins.tryEval` can test for it as
/// nixpkgs code tests for unavailable packages.
pub fn no_store_path_message(name: &str) -> String {
    format!(
        "package `{name}` has no store path yet: kiln cannot fetch Debian packages until the store lands (issue 5)"
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
    ]))
}

fn entry(name: &str, value: Value) -> AttrEntry {
    AttrEntry {
        name: Symbol::intern(name),
        value,
        pos: None,
    }
}
