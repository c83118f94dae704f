//! The sandbox build steps run programs in: Debian's `bubblewrap` (Flatpak's engine) puts the
//! program in new mount, PID, network, UTS, IPC and cgroup namespaces, with a root file system
//! made of store entries, a writable output and scratch space, no network, and an environment
//! of exactly what the step sets. The programs come from the store (Debian's binaries, pinned
//! by the lock); only bwrap itself is the host's.
//!
//! Privileges: as root, the sandbox shares root's user namespace, so a program inside may
//! `chown` to any user (dpkg's maintainer scripts do). As another user it gets a user namespace
//! of its own where it is root over its own files only, which is what compiling needs; this
//! needs unprivileged user namespaces (on by default since Debian 11). A step that gives files
//! to other users runs its program under fakeroot there (`fakeroot.rs`). Where neither is
//! available the step fails with a diagnostic that says what is missing.
//!
//! Design: bwrap rather than namespace code of kiln's own. It is a small setuid-free program
//! that Debian and Flatpak maintain, it already handles the ordering of mounts, `pivot_root`,
//! `PR_SET_NO_NEW_PRIVS` and the death of the parent, and calling it keeps `unsafe` out of
//! kiln (`unsafe_code` is denied workspace-wide). The cost is one host program, checked for
//! before a step runs.

use crate::error::{BuilderError, Result};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

/// How many lines of a failed program's output a diagnostic shows.
const LOG_TAIL_LINES: usize = 40;

/// A sandbox being set up: its root and what is bound into it.
pub(crate) struct Sandbox {
    args: Vec<OsString>,
}

/// Who the sandbox runs as (see the module comment).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Privilege {
    /// The real root: no user namespace, so `chown` works.
    Root,
    /// A user namespace where the caller is root over its own files.
    UserNamespace,
}

impl Sandbox {
    /// A sandbox whose `/` is `root`, writable or not, with `/proc`, `/dev`, a fresh `/tmp`
    /// and `/run`, no network, the host name `kiln`, and an empty environment but for
    /// `PATH`, `HOME`, `LC_ALL=C.UTF-8` and `TZ=UTC`.
    pub(crate) fn new(root: &Path, writable: bool) -> Result<Sandbox> {
        let privilege = privilege()?;
        let mut args: Vec<OsString> = Vec::new();
        let mut arg = |a: &str| args.push(a.into());
        if privilege == Privilege::UserNamespace {
            arg("--unshare-user");
            arg("--uid");
            arg("0");
            arg("--gid");
            arg("0");
        }
        for flag in [
            "--unshare-ipc",
            "--unshare-pid",
            "--unshare-net",
            "--unshare-uts",
            "--unshare-cgroup-try",
            "--die-with-parent",
            "--new-session",
            "--hostname",
            "kiln",
            "--clearenv",
        ] {
            arg(flag);
        }
        let mut sandbox = Sandbox { args };
        sandbox.push(if writable { "--bind" } else { "--ro-bind" });
        sandbox.push(root);
        sandbox.push("/");
        for (flag, at) in [
            ("--proc", "/proc"),
            ("--dev", "/dev"),
            ("--tmpfs", "/tmp"),
            ("--tmpfs", "/run"),
        ] {
            sandbox.push(flag);
            sandbox.push(at);
        }
        Ok(sandbox
            .env(
                "PATH",
                "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            )
            .env("HOME", "/root")
            .env("LC_ALL", "C.UTF-8")
            .env("TZ", "UTC"))
    }

    fn push(&mut self, arg: impl Into<OsString>) {
        self.args.push(arg.into());
    }

    /// Binds `host` read-only at `inside`.
    pub(crate) fn ro_bind(mut self, host: &Path, inside: &str) -> Sandbox {
        self.push("--ro-bind");
        self.push(host);
        self.push(inside);
        self
    }

    /// Binds `host` writable at `inside`.
    pub(crate) fn bind(mut self, host: &Path, inside: &str) -> Sandbox {
        self.push("--bind");
        self.push(host);
        self.push(inside);
        self
    }

    /// Sets a variable of the program's environment.
    pub(crate) fn env(mut self, name: &str, value: &str) -> Sandbox {
        self.push("--setenv");
        self.push(name);
        self.push(value);
        self
    }

    /// The program's working directory inside.
    pub(crate) fn chdir(mut self, dir: &str) -> Sandbox {
        self.push("--chdir");
        self.push(dir);
        self
    }

    /// Runs `argv` inside, its output appended to `log`. A failure is an error naming `what`
    /// and showing the log's last lines.
    pub(crate) fn run(&self, argv: &[&str], what: &str, log: &Path) -> Result<()> {
        let output = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .map_err(BuilderError::io("open", log))?;
        let errors = output.try_clone().map_err(BuilderError::io("open", log))?;
        let status = Command::new(bwrap()?)
            .args(&self.args)
            .arg("--")
            .args(argv)
            .stdin(Stdio::null())
            .stdout(output)
            .stderr(errors)
            .env_clear()
            .status()
            .map_err(|e| BuilderError::Sandbox {
                message: format!("cannot start bwrap: {e}"),
            })?;
        if status.success() {
            return Ok(());
        }
        Err(BuilderError::SandboxedProgram {
            what: what.to_string(),
            status: status.to_string(),
            log: log_tail(log),
        })
    }
}

/// The last lines of a log.
pub(crate) fn log_tail(log: &Path) -> String {
    let text = std::fs::read(log).unwrap_or_default();
    let text = String::from_utf8_lossy(&text);
    let lines: Vec<&str> = text.lines().collect();
    let start = lines.len().saturating_sub(LOG_TAIL_LINES);
    lines[start..].join("\n")
}

/// bwrap on `PATH`.
fn bwrap() -> Result<PathBuf> {
    static FOUND: OnceLock<Option<PathBuf>> = OnceLock::new();
    FOUND
        .get_or_init(|| {
            let path = std::env::var_os("PATH")?;
            std::env::split_paths(&path)
                .map(|dir| dir.join("bwrap"))
                .find(|p| p.is_file())
        })
        .clone()
        .ok_or_else(|| BuilderError::Sandbox {
            message: "the build sandbox needs bubblewrap (`bwrap`), which is not on PATH"
                .to_string(),
        })
}

/// Root, or an unprivileged user namespace that works (probed once: its presence alone is
/// not enough, a sysctl or a container may forbid it).
pub(crate) fn privilege() -> Result<Privilege> {
    static PROBED: OnceLock<std::result::Result<Privilege, String>> = OnceLock::new();
    let probed = PROBED.get_or_init(|| {
        if is_root() {
            return Ok(Privilege::Root);
        }
        let bwrap = bwrap().map_err(|e| e.to_string())?;
        // The program inside is bwrap itself, by its path: a `PATH` that holds bwrap alone must
        // not read as "no user namespaces".
        let probe = Command::new(&bwrap)
            .args(["--unshare-user", "--ro-bind", "/", "/", "--"])
            .arg(&bwrap)
            .arg("--version")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .output();
        let why = match probe {
            Ok(out) if out.status.success() => return Ok(Privilege::UserNamespace),
            Ok(out) => String::from_utf8_lossy(&out.stderr).trim().to_string(),
            Err(e) => format!("cannot start bwrap: {e}"),
        };
        Err(format!(
            "the build sandbox needs root or unprivileged user namespaces, and neither is \
             available here: kiln does not run as root, and bwrap cannot make a user namespace \
             ({why}); enable them (`sysctl kernel.unprivileged_userns_clone=1` on Debian, \
             `user.max_user_namespaces` above 0, no container forbidding them) or run kiln as \
             root"
        ))
    });
    probed
        .clone()
        .map_err(|message| BuilderError::Sandbox { message })
}

/// Whether this process runs as root, read from `/proc` (kiln denies `unsafe`, so no
/// `geteuid`).
fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status").is_ok_and(|status| {
        status
            .lines()
            .find_map(|line| line.strip_prefix("Uid:"))
            .and_then(|ids| ids.split_whitespace().nth(1))
            == Some("0")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_program_sees_only_its_root_and_no_network() {
        if privilege().is_err() {
            eprintln!("skipped: no sandbox here ({})", privilege().err().unwrap());
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        std::fs::create_dir_all(root.join("usr")).unwrap();
        for link in ["bin", "lib", "lib64"] {
            std::os::unix::fs::symlink(format!("usr/{link}"), root.join(link)).unwrap();
        }
        for dir in ["proc", "dev", "tmp", "run", "out"] {
            std::fs::create_dir(root.join(dir)).unwrap();
        }
        let out = dir.path().join("out");
        std::fs::create_dir(&out).unwrap();
        let log = dir.path().join("log");
        // The host's /usr stands in for a package tree here.
        let sandbox = Sandbox::new(&root, false)
            .unwrap()
            .ro_bind(Path::new("/usr"), "/usr")
            .bind(&out, "/out")
            .env("GREETING", "hello");
        sandbox
            .run(
                &[
                    "/bin/sh",
                    "-c",
                    "echo $GREETING > /out/greeting; hostname > /out/host; ls /sys > /out/sys 2>&1; \
                     cat /proc/net/dev | wc -l > /out/links; test ! -e /home",
                ],
                "a test script",
                &log,
            )
            .unwrap();
        let read = |name: &str| std::fs::read_to_string(out.join(name)).unwrap();
        assert_eq!(read("greeting"), "hello\n");
        assert_eq!(read("host"), "kiln\n");
        // Only the loopback interface: two header lines and `lo`.
        assert_eq!(read("links").trim(), "3");
        let err = sandbox
            .run(
                &["/bin/sh", "-c", "echo failing-step; exit 3"],
                "the failing step",
                &log,
            )
            .unwrap_err();
        let text = err.to_string();
        assert!(text.contains("the failing step"), "{text}");
        let BuilderError::SandboxedProgram { log: tail, .. } = err else {
            panic!("{text}")
        };
        assert!(tail.ends_with("failing-step"), "{tail}");
    }
}
