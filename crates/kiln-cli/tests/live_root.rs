//! The live root's build steps on bad input, as a user meets them (slow: they configure Debian
//! roots with dpkg, into `$KILN_STORE` or `target/kiln-test-store`):
//!
//! - a package whose maintainer script fails: the build fails naming the package and showing
//!   the script's output, and registers nothing;
//! - a user in a group nobody defines: the system layer's step fails naming the option and the
//!   group, and registers nothing.

use kiln_testkit::workspace;
use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

const KILN: &str = env!("CARGO_BIN_EXE_kiln");

use kiln_testkit::shared_store as store;

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
    let link = kiln_testkit::tempdir().expect("temp dir");
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

/// One entry of a root tree: its kind, mode, owner, link target, and the contents of regular
/// files under `/etc` and `/var/lib/dpkg`.
#[derive(Debug, PartialEq)]
struct Entry {
    kind: char,
    mode: u32,
    uid: u32,
    gid: u32,
    target: String,
    contents: Option<Vec<u8>>,
}

/// Whether a path's contents are compared, not only its metadata.
fn watched(path: &str) -> bool {
    path.starts_with("/etc/") || path.starts_with("/var/lib/dpkg/")
}

/// A `ls -l` mode (`drwxr-sr-x`) as a kind (`d`, `f`, `l`, or `o` for anything else) and the
/// permission bits, setuid, setgid and sticky included.
fn parse_ls_mode(text: &str) -> (char, u32) {
    let chars: Vec<char> = text.chars().collect();
    assert_eq!(chars.len(), 10, "`{text}` is not an ls mode");
    let kind = match chars[0] {
        '-' => 'f',
        'd' => 'd',
        'l' => 'l',
        _ => 'o',
    };
    // A letter but `-`, `S` or `T` grants the bit: `s`/`t` are setuid/setgid/sticky with
    // execute, `S`/`T` without.
    let mut mode = 0;
    for (at, bit) in (1..10).zip([
        0o400, 0o200, 0o100, 0o040, 0o020, 0o010, 0o004, 0o002, 0o001,
    ]) {
        if !matches!(chars[at], '-' | 'S' | 'T') {
            mode |= bit;
        }
    }
    for (at, special) in [(3, 0o4000), (6, 0o2000), (9, 0o1000)] {
        if matches!(chars[at], 's' | 'S' | 't' | 'T') {
            mode |= special;
        }
    }
    (kind, mode)
}

/// kiln's layer as `unsquashfs -lln` lists it (kinds, modes, numeric owners, link targets), with
/// the contents of the watched files from an extraction into `scratch`. The listing, not the
/// extracted tree, gives the owners: without root, unsquashfs cannot set them.
fn layer_tree(layer: &Path, scratch: &Path) -> BTreeMap<String, Entry> {
    let status = Command::new("unsquashfs")
        .args(["-q", "-n", "-d"])
        .arg(scratch)
        .arg(layer)
        .status()
        .expect("unsquashfs");
    assert!(status.success(), "unsquashfs -d {}", scratch.display());
    let out = Command::new("unsquashfs")
        .env("TZ", "UTC")
        .arg("-lln")
        .arg(layer)
        .output()
        .expect("unsquashfs -lln");
    assert!(out.status.success(), "unsquashfs -lln {}", layer.display());
    let mut tree = BTreeMap::new();
    for line in String::from_utf8(out.stdout)
        .expect("utf-8 listing")
        .lines()
    {
        // MODE UID/GID SIZE DATE TIME PATH[ -> TARGET]; the path may hold spaces.
        let mut rest = line;
        let mut fields = Vec::new();
        for _ in 0..5 {
            let trimmed = rest.trim_start();
            let end = trimmed.find(' ').unwrap_or(trimmed.len());
            fields.push(&trimmed[..end]);
            rest = &trimmed[end..];
        }
        let Some(path) = rest.trim_start().strip_prefix("squashfs-root") else {
            continue;
        };
        if path.is_empty() {
            continue; // the root itself
        }
        let (kind, mode) = parse_ls_mode(fields[0]);
        let (path, target) = match kind {
            'l' => path.split_once(" -> ").expect("a symlink's target"),
            _ => (path, ""),
        };
        let (uid, gid) = fields[1].split_once('/').expect("UID/GID");
        let contents = (kind == 'f' && watched(path)).then(|| {
            let file = scratch.join(path.trim_start_matches('/'));
            std::fs::read(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()))
        });
        tree.insert(
            path.to_string(),
            Entry {
                kind,
                mode,
                uid: uid.parse().expect("numeric uid"),
                gid: gid.parse().expect("numeric gid"),
                target: target.to_string(),
                contents,
            },
        );
    }
    tree
}

/// mmdebstrap's tree, from its tarball (a hard link is the file it links to).
fn tar_tree(tarball: &Path) -> BTreeMap<String, Entry> {
    use std::io::Read;
    let file = std::fs::File::open(tarball).expect("open mmdebstrap's tarball");
    let mut archive = tar::Archive::new(std::io::BufReader::new(file));
    let mut tree: BTreeMap<String, Entry> = BTreeMap::new();
    let name = |raw: &[u8]| {
        let text = String::from_utf8_lossy(raw);
        format!("/{}", text.trim_start_matches("./").trim_end_matches('/'))
    };
    for entry in archive.entries().expect("read the tarball") {
        let mut entry = entry.expect("a tarball entry");
        let path = name(&entry.path_bytes());
        if path == "/" {
            continue;
        }
        let header = entry.header();
        let kind = match header.entry_type() {
            tar::EntryType::Regular | tar::EntryType::Link => 'f',
            tar::EntryType::Directory => 'd',
            tar::EntryType::Symlink => 'l',
            _ => 'o',
        };
        let link = entry
            .link_name_bytes()
            .map(|raw| String::from_utf8_lossy(&raw).into_owned());
        let (mode, uid, gid) = (
            header.mode().expect("mode") & 0o7777,
            u32::try_from(header.uid().expect("uid")).expect("a 32-bit uid"),
            u32::try_from(header.gid().expect("gid")).expect("a 32-bit gid"),
        );
        let is_hard_link = header.entry_type() == tar::EntryType::Link;
        let contents = if kind == 'f' && watched(&path) {
            if is_hard_link {
                let linked = name(link.as_deref().unwrap_or_default().as_bytes());
                tree.get(&linked).and_then(|e| e.contents.clone())
            } else {
                let mut bytes = Vec::new();
                entry.read_to_end(&mut bytes).expect("read a tarball entry");
                Some(bytes)
            }
        } else {
            None
        };
        let target = if kind == 'l' {
            link.unwrap_or_default()
        } else {
            String::new()
        };
        tree.insert(
            path,
            Entry {
                kind,
                mode,
                uid,
                gid,
                target,
                contents,
            },
        );
    }
    tree
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
/// Neither needs root: kiln configures the layer under fakeroot then, and mmdebstrap installs
/// in its `unshare` mode (subordinate ids from /etc/subuid; see the script).
#[test]
fn the_configured_root_is_what_mmdebstrap_installs() {
    let mut tools = vec![
        "bwrap",
        "mmdebstrap",
        "apt-ftparchive",
        "unsquashfs",
        "python3",
    ];
    if !kiln_testkit::is_root() {
        tools.extend(["newuidmap", "newgidmap"]);
    }
    if !kiln_testkit::slow("mmdebstrap comparison", &tools) {
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
    let work = kiln_testkit::tempdir_in("/var/tmp").expect("scratch in /var/tmp");
    // mmdebstrap's user namespace (without root) reads the mirror inside as another user.
    std::fs::set_permissions(work.path(), std::fs::Permissions::from_mode(0o755))
        .expect("open the scratch directory");
    let a = layer_tree(
        &Path::new(stdout.trim()).join("layer.squashfs"),
        &work.path().join("kiln"),
    );
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
    let b = tar_tree(&theirs.join("root.tar"));
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

#[test]
fn ls_modes_read_as_their_bits() {
    for (text, kind, mode) in [
        ("-rw-r-----", 'f', 0o640),
        ("-rwsr-xr-x", 'f', 0o4755),
        ("-rwSr--r--", 'f', 0o4644),
        ("drwxrwsr-x", 'd', 0o2775),
        ("drwxrwxrwt", 'd', 0o1777),
        ("drwxr-xr-T", 'd', 0o1754),
        ("lrwxrwxrwx", 'l', 0o777),
        ("crw-rw-rw-", 'o', 0o666),
    ] {
        assert_eq!(parse_ls_mode(text), (kind, mode), "{text}");
    }
}
