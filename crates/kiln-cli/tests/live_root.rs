//! The live root's build steps on bad input, as a user meets them (slow: they configure Debian
//! roots with dpkg, into `$KILN_STORE` or `target/kiln-test-store`):
//!
//! - a package whose maintainer script fails: the build fails naming the package and showing
//!   the script's output, and registers nothing;
//! - a user in a group nobody defines: the system layer's step fails naming the option and the
//!   group, and registers nothing.

use kiln_testkit::workspace;
use std::path::{Path, PathBuf};
use std::process::Command;

const KILN: &str = env!("CARGO_BIN_EXE_kiln");

fn store() -> PathBuf {
    std::env::var_os("KILN_STORE")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("target/kiln-test-store"))
}

/// `kiln ARGS` in the workspace: (success, stdout, stderr).
fn kiln(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(KILN)
        .args(args)
        .current_dir(workspace())
        .env("KILN_STORE", store())
        .output()
        .expect("run kiln");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The store path `attr` of `profile` would be built at.
fn out_path(profile: &str, attr: &str) -> PathBuf {
    let (ok, stdout, stderr) = kiln(&["eval", "--json", "-A", &format!("{attr}.outPath"), profile]);
    assert!(ok, "{stderr}");
    PathBuf::from(stdout.trim().trim_matches('"'))
}

/// Builds a bad profile: it must fail with `code`, say every one of `says`, link no result,
/// and leave `attr`'s store path unregistered.
fn fails(profile: &str, attr: &str, code: &str, says: &[&str]) {
    let link = tempfile::tempdir().expect("temp dir");
    let result = link.path().join("result");
    let (ok, _, stderr) = kiln(&["build", "--locked", "-o", result.to_str().unwrap(), profile]);
    assert!(!ok, "{profile} built:\n{stderr}");
    assert!(stderr.contains(code), "no {code}:\n{stderr}");
    for text in says {
        assert!(stderr.contains(text), "no `{text}` in:\n{stderr}");
    }
    assert!(
        !stderr.contains("panicked") && !stderr.contains("RUST_BACKTRACE"),
        "{stderr}"
    );
    assert!(
        std::fs::symlink_metadata(&result).is_err(),
        "a result was linked"
    );
    let path = out_path(profile, attr);
    assert!(
        !Path::new(&path).exists(),
        "{} was registered though its build failed",
        path.display()
    );
}

#[test]
fn a_failing_maintainer_script_names_the_package_and_shows_its_output() {
    if !kiln_testkit::slow("live root bad input", &["bwrap"]) {
        return;
    }
    fails(
        "tests/image/bad/failing-postinst.nix",
        "config.system.build.debianRoot",
        "kiln::builders::maintainer_script",
        &[
            "the maintainer script of kiln-fails failed",
            "kiln-fails: this postinst fails on purpose (configure)",
            "post-installation script subprocess returned error exit status 3",
        ],
    );
}

#[test]
fn a_user_in_an_unknown_group_is_refused() {
    if !kiln_testkit::slow("live root bad input", &["bwrap"]) {
        return;
    }
    fails(
        "tests/image/bad/unknown-group.nix",
        "config.system.build.systemLayer",
        "kiln::builders::unknown_group",
        &[
            "users.users.bob.extraGroups names the group `no-such-group`",
            "users.groups.no-such-group = { };",
        ],
    );
}

/// One entry of a root tree: its kind, mode, owner, link target, and the contents' digest for
/// regular files under `/etc` and `/var/lib/dpkg`.
#[derive(Debug, PartialEq)]
struct Entry {
    kind: char,
    mode: u32,
    uid: u32,
    gid: u32,
    target: String,
    contents: Option<Vec<u8>>,
}

fn tree(root: &Path) -> std::collections::BTreeMap<String, Entry> {
    use std::os::unix::fs::MetadataExt;
    let mut out = std::collections::BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.expect("dir entry").path();
            let meta = std::fs::symlink_metadata(&path).expect("metadata");
            let rel = format!("/{}", path.strip_prefix(root).unwrap().display());
            let kind = if meta.file_type().is_symlink() {
                'l'
            } else if meta.is_dir() {
                stack.push(path.clone());
                'd'
            } else if meta.is_file() {
                'f'
            } else {
                'o'
            };
            let watched = rel.starts_with("/etc/") || rel.starts_with("/var/lib/dpkg/");
            out.insert(
                rel,
                Entry {
                    kind,
                    mode: meta.mode() & 0o7777,
                    uid: meta.uid(),
                    gid: meta.gid(),
                    target: if kind == 'l' {
                        std::fs::read_link(&path).unwrap().display().to_string()
                    } else {
                        String::new()
                    },
                    contents: (kind == 'f' && watched).then(|| std::fs::read(&path).unwrap()),
                },
            );
        }
    }
    out
}

/// Every difference between kiln's configured root and mmdebstrap's for the same packages that
/// the comparison expects, with the reason; anything else fails the test.
const EXPLAINED: &[(&str, &str)] = &[
    ("only mmdebstrap: /dev/", "mmdebstrap --mode=root makes device nodes; the live system mounts devtmpfs on /dev"),
    ("only mmdebstrap: /run/lock", "mmdebstrap makes /run/lock; systemd mounts a tmpfs on /run at boot"),
    ("only mmdebstrap: /etc/apt/", "mmdebstrap configures apt for its mirror; kiln writes sources.list in the system layer"),
    ("only mmdebstrap: /etc/fstab", "kiln writes /etc/fstab in the system layer (fileSystems)"),
    ("only mmdebstrap: /etc/hostname", "kiln writes /etc/hostname in the system layer (networking.hostName)"),
    ("only mmdebstrap: /etc/passwd-", "shadow's backups: kiln removes them (time-dependent, reproducible-builds.org)"),
    ("only mmdebstrap: /etc/group-", "shadow's backups, removed by kiln"),
    ("only mmdebstrap: /etc/shadow-", "shadow's backups, removed by kiln"),
    ("only mmdebstrap: /etc/gshadow-", "shadow's backups, removed by kiln"),
    ("only mmdebstrap: /etc/subuid-", "shadow's backups, removed by kiln"),
    ("only mmdebstrap: /etc/subgid-", "shadow's backups, removed by kiln"),
    ("only mmdebstrap: /etc/.resolv.conf.systemd-resolved.bak", "systemd-resolved's postinst backs up the resolv.conf mmdebstrap copied from the host; kiln's root had none"),
    ("only mmdebstrap: /var/cache/debconf/", "debconf's `-old` databases, removed by kiln"),
    ("only mmdebstrap: /var/lib/dpkg/", "dpkg's `-old` databases, removed by kiln"),
    ("only mmdebstrap: /var/lib/apt/", "apt's state: mmdebstrap installs with apt, kiln with dpkg alone (no auto-installed marks)"),
    ("only mmdebstrap: /var/cache/apt/", "apt's lock: apt ran in mmdebstrap's root"),
    ("differs: /var/lib/apt/lists/partial", "apt makes its partial directories its own when it runs"),
    ("differs: /var/cache/apt/archives/partial", "apt makes its partial directories its own when it runs"),
    ("differs: /etc/machine-id", "empty in both; mmdebstrap rewrites it 0644, systemd made it 0444"),
    ("differs: /etc/shadow", "the day of the last password change: SOURCE_DATE_EPOCH in kiln's, today in mmdebstrap's"),
    ("differs: /etc/shells", "the same shells; update-shells ran at a different point of the installation, so the order differs"),
    ("differs: /var/lib/dpkg/triggers/File", "the same trigger interests; dpkg appends them in unpack order, which is apt's there"),
];

/// issue 14: kiln's configured base layer is what mmdebstrap installs for the same packages,
/// from the same `.deb` files (a local mirror of kiln's store): the same paths, kinds, modes,
/// owners and link targets, the same `/etc` and dpkg database, but for the differences above.
#[test]
fn the_configured_root_is_what_mmdebstrap_installs() {
    if !kiln_testkit::slow(
        "mmdebstrap comparison",
        &[
            "bwrap",
            "mmdebstrap",
            "apt-ftparchive",
            "unsquashfs",
            "python3",
        ],
    ) {
        return;
    }
    let profile = "profiles/installer/cd-dvd/installation-cd-minimal.nix";
    let (ok, stdout, stderr) = kiln(&[
        "build",
        "--locked",
        "--no-link",
        "-A",
        "config.system.build.debianRoot",
        profile,
    ]);
    assert!(ok, "{stderr}");
    let work = tempfile::tempdir_in("/var/tmp").expect("scratch in /var/tmp");
    let ours = work.path().join("kiln");
    let status = Command::new("unsquashfs")
        .args(["-q", "-n", "-d"])
        .arg(&ours)
        .arg(Path::new(stdout.trim()).join("layer.squashfs"))
        .status()
        .expect("unsquashfs");
    assert!(status.success());
    let theirs = work.path().join("mmdebstrap");
    let out = Command::new(workspace().join("tests/liveroot/mmdebstrap-root.sh"))
        .arg(profile)
        .arg(&theirs)
        .current_dir(workspace())
        .env("KILN", KILN)
        .env("KILN_STORE", store())
        .output()
        .expect("run mmdebstrap-root.sh");
    assert!(
        out.status.success(),
        "mmdebstrap failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let a = tree(&ours);
    let b = tree(&theirs.join("root"));
    let mut found = Vec::new();
    for path in a.keys().filter(|p| !b.contains_key(*p)) {
        found.push(format!("only kiln: {path}"));
    }
    for path in b.keys().filter(|p| !a.contains_key(*p)) {
        found.push(format!("only mmdebstrap: {path}"));
    }
    for (path, entry) in &a {
        if b.get(path).is_some_and(|other| other != entry) {
            found.push(format!("differs: {path}"));
        }
    }
    let mut unexplained = Vec::new();
    let mut used = std::collections::BTreeSet::new();
    for difference in &found {
        match EXPLAINED
            .iter()
            .find(|(prefix, _)| difference.starts_with(prefix))
        {
            Some((prefix, why)) => {
                if used.insert(*prefix) {
                    eprintln!("expected: {prefix}…: {why}");
                }
            }
            None => unexplained.push(difference.as_str()),
        }
    }
    assert!(
        unexplained.is_empty(),
        "{} unexplained difference(s) between kiln's root and mmdebstrap's:\n{}",
        unexplained.len(),
        unexplained.join("\n")
    );
    assert!(a.len() > 10_000, "kiln's root has only {} entries", a.len());
}
