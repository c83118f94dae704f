//! kiln without root: the minimal profile's ISO, and its base layer
//! (`config.system.build.debianRoot`, which dpkg configures in the sandbox) above all, built by
//! an unprivileged user, under Debian's fakeroot in a user namespace, is the image root builds.
//!
//! - Run as root: the ISO is built as root in the test store, and again as `nobody` (uid and
//!   gid 65534, no supplementary groups, through `setpriv`) in a store of its own
//!   (`target/kiln-test-rootless`, kept so packages are downloaded once). The two ISOs must
//!   have the same bytes: a store key does not say who built an entry.
//!   Before that, so that a difference is named, the base layers' `unsquashfs -lln` listings
//!   (every path with its mode, owner, group and size) must be equal, and their bytes too.
//! - Run as another user: the layer is built as that user, and the owners that only root (or
//!   fakeroot) can give are checked.
//!
//! Both check `/etc/shadow` (`root:shadow`, 0640), `/usr/bin/sudo` (setuid root),
//! `/usr/bin/chage` (setgid `shadow`) and `/var/mail` (setgid `mail`) in the listing. The
//! build times are printed (`--nocapture`).
//!
//! Slow (`KILN_SLOW_TESTS=1`): it needs the network once, bubblewrap, `unsquashfs` and, as
//! root, `setpriv`; and unprivileged user namespaces, which it says when they are missing.
//!
//! Where kiln is neither root nor able to make a user namespace, a step that runs programs
//! fails saying so: bwrap's `--disable-userns` takes them away from a kiln run inside it, as a
//! sysctl or a container would (slow too: it needs bubblewrap 0.8).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use kiln_testkit::{is_root, workspace};

const KILN: &str = env!("CARGO_BIN_EXE_kiln");
const MINIMAL: &str = "profiles/installer/cd-dvd/installation-cd-minimal.nix";
const ATTR: &str = "config.system.build.debianRoot";
/// `nobody` and `nogroup` on Debian.
const NOBODY: u32 = 65534;

use kiln_testkit::shared_store as store;

/// Builds the minimal profile's `attr` (its ISO without one) with `command` (kiln, or kiln run
/// through `setpriv`) and returns its store path and how long the build took.
fn build(mut command: Command, who: &str, attr: Option<&str>) -> (PathBuf, f64) {
    let started = Instant::now();
    let out = command
        .args(["build", "--locked", "--no-link"])
        .args(attr.map(|attr| ["-A", attr]).into_iter().flatten())
        .arg(MINIMAL)
        .current_dir(workspace())
        .output()
        .expect("run kiln");
    let secs = started.elapsed().as_secs_f64();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "kiln build as {who} failed:\n{stderr}"
    );
    // The builder's own split (copy, dpkg, squashfs), for the log.
    for line in stderr.lines().filter(|l| l.contains("packages: copied")) {
        eprintln!("as {who}: {line}");
    }
    eprintln!("as {who}: kiln build took {secs:.1} s");
    let path = String::from_utf8(out.stdout).expect("utf-8 output");
    (PathBuf::from(path.trim()), secs)
}

/// `unsquashfs -lln` of a layer, by path: mode, `uid/gid` and size (dates are all the same).
fn listing(layer: &Path) -> BTreeMap<String, String> {
    let out = Command::new("unsquashfs")
        .env("TZ", "UTC")
        .arg("-lln")
        .arg(layer.join("layer.squashfs"))
        .output()
        .expect("run unsquashfs");
    assert!(out.status.success(), "unsquashfs -lln {}", layer.display());
    String::from_utf8(out.stdout)
        .expect("utf-8 listing")
        .lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let path = fields.get(5)?.strip_prefix("squashfs-root")?;
            let target = fields
                .get(6..)
                .map(|rest| rest.join(" "))
                .unwrap_or_default();
            let what = format!("{} {} {} {target}", fields[0], fields[1], fields[2]);
            Some((
                format!("/{}", path.trim_start_matches('/')),
                what.trim_end().to_string(),
            ))
        })
        .collect()
}

/// The owners and modes only root, or fakeroot, can give.
fn check_owners(listing: &BTreeMap<String, String>, who: &str) {
    for (path, mode, owner) in [
        ("/etc/shadow", "-rw-r-----", "0/42"),
        ("/etc/gshadow", "-rw-r-----", "0/42"),
        ("/usr/bin/sudo", "-rwsr-xr-x", "0/0"),
        ("/usr/bin/chage", "-rwxr-sr-x", "0/42"),
        ("/var/mail", "drwxrwsr-x", "0/8"),
    ] {
        let line = listing
            .get(path)
            .unwrap_or_else(|| panic!("{path} missing from the layer built as {who}"));
        assert!(
            line.starts_with(&format!("{mode} {owner} ")),
            "{path} built as {who}: `{line}`, expected {mode} {owner}"
        );
    }
}

#[test]
fn the_base_layer_built_without_root_is_roots() {
    let mut tools = vec!["unsquashfs", "bwrap"];
    if is_root() {
        tools.push("setpriv");
    }
    if !kiln_testkit::slow("rootless build", &tools) {
        return;
    }
    if !is_root() {
        let mut kiln = Command::new(KILN);
        kiln.env("KILN_STORE", store());
        let (layer, _) = build(kiln, "this user", Some(ATTR));
        check_owners(&listing(&layer), "this user");
        return;
    }

    // nobody's store and home, kept between runs; nobody must be able to reach the checkout
    // and the kiln binary (as in a checkout under /home or /work with the usual modes).
    let base = workspace().join("target/kiln-test-rootless");
    for dir in [base.join("store"), base.join("home")] {
        std::fs::create_dir_all(&dir).expect("create nobody's directories");
        std::os::unix::fs::chown(&dir, Some(NOBODY), Some(NOBODY)).expect("give them to nobody");
    }
    let as_nobody = |program: &str| {
        let mut command = Command::new("setpriv");
        command
            .args([
                &format!("--reuid={NOBODY}"),
                &format!("--regid={NOBODY}"),
                "--clear-groups",
                "--",
                program,
            ])
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", base.join("home"))
            .env("KILN_STORE", base.join("store"));
        command
    };
    let reachable = as_nobody("test")
        .args(["-r", MINIMAL, "-a", "-x", KILN])
        .current_dir(workspace())
        .status()
        .expect("run test as nobody");
    assert!(
        reachable.success(),
        "nobody cannot read {MINIMAL} or run {KILN}: the checkout must be readable by other \
         users for this test"
    );
    let userns = as_nobody("bwrap")
        .args(["--unshare-user", "--ro-bind", "/", "/", "--", "true"])
        .status()
        .expect("run bwrap as nobody");
    assert!(
        userns.success(),
        "unprivileged user namespaces are off here, so kiln cannot build without root \
         (sysctl kernel.unprivileged_userns_clone=1, user.max_user_namespaces)"
    );

    let as_root = || {
        let mut kiln = Command::new(KILN);
        kiln.env("KILN_STORE", store());
        kiln
    };
    let (iso_by_root, root_secs) = build(as_root(), "root", None);
    let (iso_by_user, user_secs) = build(as_nobody(KILN), "nobody", None);
    eprintln!(
        "minimal ISO: {root_secs:.1} s as root, {user_secs:.1} s as nobody under fakeroot (whole \
         `kiln build`s: a store that lacks the packages fetches and unpacks them too)"
    );
    // Built with the ISO: these only find them.
    let (as_root, _) = build(as_root(), "root", Some(ATTR));
    let (as_user, _) = build(as_nobody(KILN), "nobody", Some(ATTR));

    let by_root = listing(&as_root);
    let by_user = listing(&as_user);
    check_owners(&by_root, "root");
    check_owners(&by_user, "nobody");
    let differences: Vec<String> = by_root
        .keys()
        .chain(by_user.keys())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .filter(|path| by_root.get(*path) != by_user.get(*path))
        .map(|path| {
            format!(
                "{path}: as root `{}`, as nobody `{}`",
                by_root.get(path).map_or("missing", String::as_str),
                by_user.get(path).map_or("missing", String::as_str)
            )
        })
        .collect();
    assert!(
        differences.is_empty(),
        "{} path(s) differ:\n{}",
        differences.len(),
        differences.join("\n")
    );
    assert!(
        same_bytes(
            &as_root.join("layer.squashfs"),
            &as_user.join("layer.squashfs")
        ),
        "the listings agree but the images' bytes differ: {} and {}",
        as_root.display(),
        as_user.display()
    );

    // The whole image, with the same bytes. (Not the same entry name: the stores lie in
    // different directories, and inputs are named by their paths, as in Nix.)
    let iso_file = |entry: &Path| {
        let dir = entry.join("iso");
        let mut isos: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|item| item.expect("dir entry").path())
            // Beside it: NAME.manifest.json and NAME.spdx.json.
            .filter(|p| p.extension().is_some_and(|e| e == "iso"))
            .collect();
        assert_eq!(isos.len(), 1, "{}: {isos:?}", dir.display());
        isos.remove(0)
    };
    let (root_iso, user_iso) = (iso_file(&iso_by_root), iso_file(&iso_by_user));
    assert!(
        same_bytes(&root_iso, &user_iso),
        "the base layers agree but the ISOs' bytes differ: {} and {}",
        root_iso.display(),
        user_iso.display()
    );
}

/// Whether two files have the same bytes, read a block at a time (images are hundreds of MB).
fn same_bytes(a: &Path, b: &Path) -> bool {
    use std::io::Read;
    let open =
        |path: &Path| std::io::BufReader::new(std::fs::File::open(path).expect("open an image"));
    let (mut a, mut b) = (open(a), open(b));
    let (mut block_a, mut block_b) = (vec![0; 1 << 20], vec![0; 1 << 20]);
    loop {
        let n = a.read(&mut block_a).expect("read an image");
        if n == 0 {
            return b.read(&mut block_b[..1]).expect("read layer") == 0;
        }
        if b.read_exact(&mut block_b[..n]).is_err() || block_a[..n] != block_b[..n] {
            return false;
        }
    }
}

/// A `debian-root` step with no packages: its builder asks for the sandbox before anything else,
/// and its `fakeroot` input, an empty `package-tree`, needs neither the network nor a sandbox.
const NO_PACKAGES: &str = r#"{ root = derivation {
  name = "debian-root-empty";
  system = "x86_64-linux";
  builder = "debian-root";
  packages = [ ];
  fakeroot = derivation {
    name = "fakeroot-empty"; system = "x86_64-linux"; builder = "package-tree"; packages = [ ];
  };
  compression = "gzip";
  SOURCE_DATE_EPOCH = 315532800;
}; }
"#;

#[test]
fn without_root_or_user_namespaces_a_step_says_what_is_missing() {
    if !kiln_testkit::slow("no user namespaces", &["bwrap"]) {
        return;
    }
    let dir = kiln_testkit::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("root.nix"), NO_PACKAGES).expect("write root.nix");
    // uid 1000 inside, whoever runs the test: not root there, and no user namespace below.
    let out = Command::new("bwrap")
        .args([
            "--unshare-user",
            "--disable-userns",
            "--uid",
            "1000",
            "--gid",
            "1000",
        ])
        .args(["--dev-bind", "/", "/", "--"])
        .arg(KILN)
        .args(["build", "--offline", "--no-link", "-A", "root", "--store"])
        .arg(dir.path().join("store"))
        .arg(dir.path().join("root.nix"))
        .env_remove("KILN_STORE")
        .output()
        .expect("run kiln in bwrap");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "built without a sandbox:\n{stderr}");
    for says in [
        "code: kiln::builders::sandbox",
        "needs root or unprivileged user namespaces",
        "kiln does not run as root, and bwrap cannot make a user namespace",
    ] {
        assert!(stderr.contains(says), "no `{says}` in:\n{stderr}");
    }
    assert!(!stderr.contains("panicked"), "{stderr}");
    // The step's input was built; the step itself left nothing.
    assert!(stderr.contains("built fakeroot-empty"), "{stderr}");
    assert!(!stderr.contains("built debian-root-empty"), "{stderr}");
}
