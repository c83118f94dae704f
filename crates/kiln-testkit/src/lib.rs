//! kiln's test helpers, one of each, for every crate's tests (a dev-dependency only):
//!
//! - [`slow`]: the slow-test switch. Tests that need a tool (nix-instantiate, QEMU, xorriso,
//!   the network) run when `KILN_SLOW_TESTS=1`. Then a missing tool fails the test in CI (`CI`
//!   set: `.ci/run` installs every tool) and skips it, saying why, elsewhere. Without the
//!   variable the test says how to run it and skips.
//! - [`expect`]: golden files. `UPDATE_EXPECT=1` rewrites them instead of comparing.
//! - [`redact`]: the checkout's path as `$ROOT`, so expected files do not depend on where the
//!   repository lives.
//!
//! ```
//! if kiln_testkit::slow("compares with xorriso", &["xorriso"]) {
//!     // run xorriso
//! }
//! let text = format!("{}/tests/x.nix:1", kiln_testkit::workspace().display());
//! assert_eq!(kiln_testkit::redact(&text), "$ROOT/tests/x.nix:1");
//! ```

use std::path::{Path, PathBuf};

/// The workspace root (the checkout).
pub fn workspace() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    root.canonicalize().unwrap_or(root)
}

/// Whether a slow test runs; see the crate comment. `test` names it in the message printed on
/// a skip; `tools` are the programs it needs on `PATH`.
pub fn slow(test: &str, tools: &[&str]) -> bool {
    if std::env::var("KILN_SLOW_TESTS").as_deref() != Ok("1") {
        eprintln!("{test}: skipped (set KILN_SLOW_TESTS=1 to run it)");
        return false;
    }
    let missing: Vec<&str> = tools.iter().copied().filter(|t| !on_path(t)).collect();
    if missing.is_empty() {
        return true;
    }
    let packages: Vec<&str> = missing.iter().map(|t| debian_package(t)).collect();
    let message = format!(
        "{test}: needs {} (apt-get install {})",
        missing.join(", "),
        packages.join(" ")
    );
    if std::env::var_os("CI").is_some() {
        panic!("{message}; CI must install it (.ci/run)");
    }
    eprintln!("{message}: skipped");
    false
}

/// Whether `program` is on `PATH` (or is a path to an executable file).
pub fn on_path(program: &str) -> bool {
    if program.contains('/') {
        return Path::new(program).is_file();
    }
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(program).is_file()))
}

/// The Debian package that provides a tool the tests use.
fn debian_package(tool: &str) -> &str {
    match tool {
        "nix-instantiate" => "nix-bin",
        "qemu-system-x86_64" | "qemu-img" => "qemu-system-x86",
        "isoinfo" => "genisoimage",
        "unsquashfs" | "mksquashfs" => "squashfs-tools",
        "fsck.vfat" | "mkfs.vfat" => "dosfstools",
        "mdir" | "mcopy" | "mtype" => "mtools",
        "modinfo" | "depmod" => "kmod",
        "bwrap" => "bubblewrap",
        other => other,
    }
}

/// Whether golden files are being rewritten (`UPDATE_EXPECT=1`, `just bless`).
pub fn update_expect() -> bool {
    std::env::var("UPDATE_EXPECT").as_deref() == Ok("1")
}

/// Compares `actual` with the expected file at `path`, or rewrites it under `UPDATE_EXPECT=1`.
/// A difference is returned as a message with both texts, for the caller to collect.
pub fn expect(path: &Path, actual: &str) -> Result<(), String> {
    if update_expect() {
        std::fs::write(path, actual).map_err(|e| format!("{}: {e}", path.display()))?;
        return Ok(());
    }
    let expected = std::fs::read_to_string(path).unwrap_or_default();
    if expected == actual {
        Ok(())
    } else {
        Err(format!(
            "{} differs (UPDATE_EXPECT=1 rewrites it):\n--- expected\n{expected}\n--- actual\n{actual}",
            path.display()
        ))
    }
}

/// `text` with the checkout's path written `$ROOT`.
pub fn redact(text: &str) -> String {
    text.replace(&*workspace().to_string_lossy(), "$ROOT")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packages_are_named_for_missing_tools() {
        assert_eq!(debian_package("nix-instantiate"), "nix-bin");
        assert_eq!(debian_package("xorriso"), "xorriso");
        assert!(on_path("sh"));
        assert!(!on_path("no-such-program-kiln"));
    }
}
