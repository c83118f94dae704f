//! The MacBook profile's Broadcom checks, shared by the boot tests of its two images:
//! `boot.rs` boots it with GNOME forced off, `gnome.rs` with GNOME. Each test file includes
//! this one (`#[path]`), since a file under `tests/support/` is not a test binary of its own.

/// Checks, on a booted MacBook image, that `wl` and `cfg80211` are loaded, that the drivers `wl`
/// competes with are blacklisted (broadcom-sta-dkms's `modprobe.d` file, taken with the module
/// package) and not loaded, and that `modinfo wl` names the module kiln built (under `extra/`,
/// where `boot.extraModulePackages` go). `run` runs a shell command in the guest as the live user
/// and returns what it printed.
pub(crate) fn check_wl(label: &str, run: &mut dyn FnMut(&str) -> String) {
    let modules = run("cut -d' ' -f1 /proc/modules | sort | tr '\\n' ' '");
    let loaded: Vec<&str> = modules.split_whitespace().collect();
    for module in ["wl", "cfg80211"] {
        assert!(
            loaded.contains(&module),
            "{label}: `{module}` not loaded; /proc/modules has {loaded:?}"
        );
    }
    let config = run("/usr/sbin/modprobe --showconfig | grep '^blacklist ' | sort -u");
    for module in ["b43", "bcma", "ssb", "brcmsmac"] {
        assert!(
            config
                .lines()
                .any(|l| l.trim() == format!("blacklist {module}")),
            "{label}: `{module}` is not blacklisted:\n{config}"
        );
        assert!(
            !loaded.contains(&module),
            "{label}: blacklisted `{module}` is loaded"
        );
    }
    let info = run("/usr/sbin/modinfo -F filename wl");
    assert!(
        info.trim().ends_with("/extra/wl.ko"),
        "{label}: modinfo wl: {info}"
    );
}
