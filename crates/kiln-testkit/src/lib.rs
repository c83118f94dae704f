//! kiln's test helpers, one of each, for every crate's tests (a dev-dependency only):
//!
//! - [`slow`]: the slow-test switch. Tests that need a tool (nix-instantiate, QEMU, xorriso,
//!   the network) run when `KILN_SLOW_TESTS=1`. Then a missing tool fails the test in CI (`CI`
//!   set: `.ci/run` installs every tool) and skips it, saying why, elsewhere. Without the
//!   variable the test says how to run it and skips.
//! - [`expect`]: golden files. `UPDATE_EXPECT=1` rewrites them instead of comparing.
//! - [`redact`]: the checkout's path as `$ROOT`, so expected files do not depend on where the
//!   repository lives.
//! - [`is_root`]: whether the tests run as root, for the tests whose tools need another way
//!   without it (kiln itself needs no root).
//! - [`nix_instantiate`]: the language oracle with a state directory of its own
//!   ([`nix_state_dir`]), so that it runs as any user.
//! - [`shared_store`]: the store the ISO-building tests share.
//! - [`tempdir`]: a scratch directory that is removed even when it holds a kiln store, which
//!   without root only [`remove_dir_all`] can do.
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

/// Whether this process runs as root, read from `/proc` as kiln's sandbox reads it (the
/// workspace denies `unsafe`, so no `geteuid`).
pub fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status").is_ok_and(|status| {
        status
            .lines()
            .find_map(|line| line.strip_prefix("Uid:"))
            .and_then(|ids| ids.split_whitespace().nth(1))
            == Some("0")
    })
}

/// The store the tests that build ISOs share, so that packages are fetched and steps built once
/// per checkout: `$KILN_STORE` when set, else `target/kiln-test-store`.
pub fn shared_store() -> PathBuf {
    std::env::var_os("KILN_STORE")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("target/kiln-test-store"))
}

/// `nix-instantiate`, the language oracle, with its state directory ([`nix_state_dir`]) set.
pub fn nix_instantiate() -> std::process::Command {
    let mut command = std::process::Command::new("nix-instantiate");
    command
        .env("NIX_STATE_DIR", nix_state_dir())
        .env("NIX_CONFIG", NIX_CONFIG);
    command
}

/// Settings for the oracle run as root on a machine without nix's build users: without them
/// every run warns on stderr that the group `nixbld` does not exist.
pub const NIX_CONFIG: &str = "build-users-group =";

/// The oracle's state directory (`NIX_STATE_DIR`), in the checkout's `target/`: nix makes its
/// profile directories there on first use, even to evaluate. Under the machine's `/nix/var/nix`
/// only root may, and a directory shared in `/tmp` belongs to whichever user ran first.
///
/// The first call makes the directory with one evaluation, under a file lock: on a fresh
/// checkout, parallel tests would otherwise all create nix's database at once (CI once saw
/// the very first check of a suite fail that way, and the same check pass when rerun).
pub fn nix_state_dir() -> PathBuf {
    static READY: std::sync::Once = std::sync::Once::new();
    let dir = workspace().join("target/kiln-nix-state");
    READY.call_once(|| {
        let _ = std::fs::create_dir_all(workspace().join("target"));
        let lock = std::fs::File::create(workspace().join("target/kiln-nix-state.lock"));
        let _held = lock.as_ref().map(|file| file.lock());
        // A missing nix-instantiate is the caller's to report; the tests say what is missing.
        let _ = std::process::Command::new("nix-instantiate")
            .env("NIX_STATE_DIR", &dir)
            .env("NIX_CONFIG", NIX_CONFIG)
            .args(["--eval", "--expr", "null"])
            .output();
    });
    dir
}

/// A temporary directory that is removed when dropped even if it holds a kiln store, whose
/// sealed entries are read-only: without root, `tempfile::TempDir` cannot empty a directory
/// without write permission, and leaves the whole store behind (gigabytes, for a test that
/// builds an ISO).
pub struct TempDir(Option<tempfile::TempDir>);

impl TempDir {
    pub fn path(&self) -> &Path {
        self.0
            .as_ref()
            .map_or(Path::new(""), tempfile::TempDir::path)
    }

    /// Keeps the directory (for a failure to be looked into) and returns its path.
    pub fn keep(mut self) -> PathBuf {
        self.0
            .take()
            .map_or_else(PathBuf::new, tempfile::TempDir::keep)
    }
}

impl AsRef<Path> for TempDir {
    fn as_ref(&self) -> &Path {
        self.path()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if let Some(dir) = self.0.take() {
            let _ = make_removable(dir.path());
            let _ = dir.close();
        }
    }
}

/// A fresh [`TempDir`] in the system's temporary directory.
pub fn tempdir() -> std::io::Result<TempDir> {
    tempfile::tempdir().map(|dir| TempDir(Some(dir)))
}

/// A fresh [`TempDir`] in `parent`.
pub fn tempdir_in(parent: impl AsRef<Path>) -> std::io::Result<TempDir> {
    tempfile::tempdir_in(parent).map(|dir| TempDir(Some(dir)))
}

/// Removes a directory tree that may hold a kiln store (see [`TempDir`]).
pub fn remove_dir_all(path: &Path) -> std::io::Result<()> {
    make_removable(path)?;
    std::fs::remove_dir_all(path)
}

/// Gives the owner write and search permission on every directory under `path` (symlinks are
/// not followed), so that its entries can be removed.
fn make_removable(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::symlink_metadata(path)?;
    if !meta.is_dir() {
        return Ok(());
    }
    let mode = meta.permissions().mode();
    if mode & 0o700 != 0o700 {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode | 0o700))?;
    }
    for entry in std::fs::read_dir(path)? {
        make_removable(&entry?.path())?;
    }
    Ok(())
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
        "newuidmap" | "newgidmap" => "uidmap",
        "apt-ftparchive" => "apt-utils",
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
