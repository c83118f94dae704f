//! The `kbuild-module` builder: malformed inputs fail before anything is built; a fake kernel
//! tree (three packages laid out as Debian's are) checks the header layout, make's
//! environment, installation and failure logs with no compiler involved; and, with
//! `KILN_SLOW_TESTS=1`, the real thing: Broadcom's `wl.ko` from bookworm's
//! `broadcom-sta-dkms` against bookworm's kernel headers, fetched from Debian's archive.

use kiln_builders::{Registry, KBUILD_MODULE};
use kiln_debian::{
    add_package, open_index, ArchiveOptions, FetchDeb, Lock, UnpackDeb, FETCH_DEB, UNPACK_DEB,
};
use kiln_store::{
    realise, BuildError, Builder, Builders, Derivation, DrvId, Events, Graph, Quiet,
    RealiseOptions, Store,
};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

fn kbuild_drv(src: &Path, headers: &[PathBuf], version: &str) -> Derivation {
    let mut drv = Derivation::new(format!("test-module-{version}"), KBUILD_MODULE);
    drv.env.insert("src".into(), src.display().to_string());
    let headers: Vec<String> = headers.iter().map(|h| h.display().to_string()).collect();
    drv.env.insert("headers".into(), headers.join(" "));
    drv.env.insert("modDirVersion".into(), version.into());
    drv.env
        .insert("SOURCE_DATE_EPOCH".into(), "315532800".into());
    drv
}

/// Builds `drv` with its `src` and `headers` as its inputs; the error as text.
fn build(drv: &Derivation, out: &Path) -> Result<(), String> {
    let inputs: Vec<PathBuf> = ["src", "headers"]
        .iter()
        .filter_map(|key| drv.env.get(*key))
        .flat_map(|value| value.split_whitespace().map(PathBuf::from))
        .collect();
    let registry = Registry::new(Default::default());
    let builders = registry.builders();
    builders[KBUILD_MODULE]
        .build(drv, &inputs, out, &Quiet)
        .map_err(|e| e.to_string())
}

fn write(path: &Path, text: &str) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, text).unwrap();
}

/// Every path under `dir`, relative, sorted.
fn tree(dir: &Path) -> Vec<String> {
    fn walk(dir: &Path, base: &Path, acc: &mut Vec<String>) {
        for entry in fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            acc.push(path.strip_prefix(base).unwrap().display().to_string());
            if path.is_dir() {
                walk(&path, base, acc);
            }
        }
    }
    let mut acc = Vec::new();
    walk(dir, dir, &mut acc);
    acc.sort();
    acc
}

use kiln_testkit::on_path;

#[test]
fn missing_src_is_a_clear_error_and_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let headers = [dir.path().join("headers")];
    fs::create_dir(&headers[0]).unwrap();
    let drv = kbuild_drv(&dir.path().join("nope"), &headers, "6.1.0-28-amd64");
    let err = build(&drv, &out).unwrap_err();
    assert!(
        err.contains("attribute `src`") && err.contains("nope"),
        "{err}"
    );
    assert!(!out.exists());

    let mut drv = kbuild_drv(dir.path(), &headers, "6.1.0-28-amd64");
    drv.env.remove("src");
    let err = build(&drv, &out).unwrap_err();
    assert!(err.contains("missing field `src`"), "{err}");
    assert!(!out.exists());
}

#[test]
fn src_without_dkms_conf_is_a_clear_error_and_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    write(
        &src.join("usr/src/thing-1.0/Makefile"),
        "obj-m += thing.o\n",
    );
    let out = dir.path().join("out");
    let headers = [dir.path().join("headers")];
    fs::create_dir(&headers[0]).unwrap();
    let err = build(&kbuild_drv(&src, &headers, "6.1.0-28-amd64"), &out).unwrap_err();
    assert!(err.contains("no `usr/src/*/dkms.conf`"), "{err}");
    assert!(err.contains("not an unpacked DKMS package"), "{err}");
    assert!(!out.exists());
}

/// A stand-in for Debian's three header packages, `linux-headers-9.9.9-test`,
/// `linux-headers-9.9.9-common` and `linux-kbuild-9.9`, with the same absolute include and
/// relative symlinks; its "kbuild" copies `<module>.c` to `<module>.ko`.
fn fake_headers(dir: &Path) -> Vec<PathBuf> {
    let flavour = dir.join("headers-test");
    let tree = flavour.join("usr/src/linux-headers-9.9.9-test");
    write(
        &tree.join("Makefile"),
        "include /usr/src/linux-headers-9.9.9-common/Makefile\n",
    );
    write(
        &tree.join("include/generated/utsrelease.h"),
        "#define UTS_RELEASE \"9.9.9-test\"\n",
    );
    std::os::unix::fs::symlink("../../lib/linux-kbuild-9.9/scripts", tree.join("scripts")).unwrap();
    let common = dir.join("headers-common");
    let common_tree = common.join("usr/src/linux-headers-9.9.9-common");
    write(
        &common_tree.join("Makefile"),
        "modules:\n\
         \t@cat scripts/marker\n\
         \t@echo \"user=$$KBUILD_BUILD_USER host=$$KBUILD_BUILD_HOST lc=$$LC_ALL\"\n\
         \t@test \"$(KVER)\" = 9.9.9-test\n\
         \t@if [ \"$(FAIL)\" = 1 ]; then for i in $$(seq -w 1 40); do echo step-$$i; done; exit 1; fi\n\
         \t@if [ \"$(FAIL)\" = 2 ]; then exit 1; fi\n\
         \tcp $(M)/$(MODULE).c $(M)/$(MODULE).ko\n",
    );
    std::os::unix::fs::symlink(
        "../../lib/linux-kbuild-9.9/scripts",
        common_tree.join("scripts"),
    )
    .unwrap();
    let kbuild = dir.join("kbuild");
    write(
        &kbuild.join("usr/lib/linux-kbuild-9.9/scripts/marker"),
        "kbuild scripts found\n",
    );
    vec![flavour, common, kbuild]
}

fn fake_src(dir: &Path, make: &str) -> PathBuf {
    let src = dir.join("src");
    let source = src.join("usr/src/hello-1.0");
    write(
        &source.join("dkms.conf"),
        &format!(
            "PACKAGE_NAME=\"hello\"\nMAKE[0]=\"{make}\"\nBUILT_MODULE_NAME[0]=\"hello\"\n\
             STRIP[0]=\"no\"\n"
        ),
    );
    write(&source.join("hello.c"), "not really a module\n");
    src
}

#[test]
fn fake_kernel_tree_builds_and_installs_into_extra() {
    if !on_path("make") || !on_path("gcc") {
        eprintln!("skipping fake_kernel_tree_builds_and_installs_into_extra: no make or gcc");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let headers = fake_headers(dir.path());
    let src = fake_src(dir.path(), "make KVER=$kernelver MODULE=hello");
    let out = dir.path().join("out");
    build(&kbuild_drv(&src, &headers, "9.9.9-test"), &out).unwrap();
    assert_eq!(
        tree(&out),
        [
            "lib",
            "lib/modules",
            "lib/modules/9.9.9-test",
            "lib/modules/9.9.9-test/extra",
            "lib/modules/9.9.9-test/extra/hello.ko"
        ]
    );
    let ko = out.join("lib/modules/9.9.9-test/extra/hello.ko");
    assert_eq!(fs::read_to_string(ko).unwrap(), "not really a module\n");
    // The store entries were not written to.
    assert!(!src.join("usr/src/hello-1.0/hello.ko").exists());

    // Headers for another release are refused before make runs.
    let err = build(
        &kbuild_drv(&src, &headers, "9.9.9-other"),
        &out.with_extension("2"),
    )
    .unwrap_err();
    assert!(
        err.contains("no `usr/src/linux-headers-9.9.9-other/Makefile`"),
        "{err}"
    );
}

#[test]
fn fake_kernel_tree_failure_shows_the_log_tail_and_creates_nothing() {
    if !on_path("make") || !on_path("gcc") {
        eprintln!("skipping fake_kernel_tree_failure_shows_the_log_tail: no make or gcc");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let headers = fake_headers(dir.path());
    let src = fake_src(dir.path(), "make KVER=$kernelver MODULE=hello FAIL=1");
    let out = dir.path().join("out");
    let err = build(&kbuild_drv(&src, &headers, "9.9.9-test"), &out).unwrap_err();
    assert!(err.contains("make failed"), "{err}");
    assert!(err.contains("step-40"), "{err}");
    assert!(!err.contains("step-05"), "only the tail is shown: {err}");
    assert!(!out.exists());
}

#[test]
fn dkms_patches_are_applied_unless_already_applied() {
    if !on_path("make") || !on_path("gcc") || !on_path("patch") {
        eprintln!(
            "skipping dkms_patches_are_applied_unless_already_applied: no make, gcc or patch"
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let headers = fake_headers(dir.path());
    let src = fake_src(dir.path(), "make KVER=$kernelver MODULE=hello");
    let source = src.join("usr/src/hello-1.0");
    let conf = fs::read_to_string(source.join("dkms.conf")).unwrap();
    write(
        &source.join("dkms.conf"),
        &format!("{conf}PATCH[0]=\"fix.patch\"\nPATCH[1]=\"already.patch\"\n"),
    );
    write(
        &source.join("patches/fix.patch"),
        "--- a/hello.c\n+++ b/hello.c\n@@ -1 +1 @@\n-not really a module\n+patched module\n",
    );
    // Debian's packages ship their patches applied; applying one again would fail.
    write(&source.join("notes.txt"), "new\n");
    write(
        &source.join("patches/already.patch"),
        "--- a/notes.txt\n+++ b/notes.txt\n@@ -1 +1 @@\n-old\n+new\n",
    );
    let out = dir.path().join("out");
    build(&kbuild_drv(&src, &headers, "9.9.9-test"), &out).unwrap();
    let ko = out.join("lib/modules/9.9.9-test/extra/hello.ko");
    assert_eq!(fs::read_to_string(ko).unwrap(), "patched module\n");
    assert_eq!(
        fs::read_to_string(source.join("hello.c")).unwrap(),
        "not really a module\n",
        "the source in the store is left alone"
    );
}

#[test]
fn make_sees_a_fixed_environment() {
    if !on_path("make") || !on_path("gcc") {
        eprintln!("skipping make_sees_a_fixed_environment: no make or gcc");
        return;
    }
    // The fake kbuild prints its environment; a failing build shows it in the error.
    let dir = tempfile::tempdir().unwrap();
    let headers = fake_headers(dir.path());
    let src = fake_src(dir.path(), "make KVER=$kernelver MODULE=hello FAIL=2");
    let err = build(
        &kbuild_drv(&src, &headers, "9.9.9-test"),
        &dir.path().join("out"),
    )
    .unwrap_err();
    // The marker comes through linux-kbuild's relative `scripts` link, and the Makefile's
    // absolute include was followed into the -common tree.
    let log_head = "kbuild scripts found\nuser=kiln host=kiln lc=C\n";
    assert!(err.contains(log_head), "{err}");
}

// ---- the real thing ----------------------------------------------------------------------

fn slow(test: &str) -> bool {
    kiln_testkit::slow(test, &["gcc", "make"])
}

/// Counts the builds it passes on, so a test can tell a cached entry from a rebuild.
struct Counting<'a> {
    inner: &'a dyn Builder,
    calls: AtomicUsize,
}

impl Builder for Counting<'_> {
    fn check(&self, drv: &Derivation, inputs: &[PathBuf]) -> Result<(), BuildError> {
        self.inner.check(drv, inputs)
    }

    fn build(
        &self,
        drv: &Derivation,
        inputs: &[PathBuf],
        out: &Path,
        events: &dyn Events,
    ) -> Result<(), BuildError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.inner.build(drv, inputs, out, events)
    }
}

#[test]
fn real_broadcom_sta_builds_wl_ko() {
    if !slow("real_broadcom_sta_builds_wl_ko") {
        return;
    }
    let started = std::time::Instant::now();
    let scratch = tempfile::tempdir().unwrap();
    // A persistent store (`KILN_STORE`) makes reruns fast; otherwise a scratch one.
    let store_root = std::env::var_os("KILN_STORE")
        .filter(|v| !v.is_empty())
        .map_or_else(|| scratch.path().join("store"), PathBuf::from);
    let store = Store::open(&store_root).unwrap();
    let options = ArchiveOptions::default();
    let index = open_index(&store, &options, None).unwrap();

    // linux-image-amd64 depends on the current ABI's image: linux-image-6.1.0-NN-amd64.
    let meta = index.get("linux-image-amd64").expect("linux-image-amd64");
    let image = meta
        .depends
        .iter()
        .flat_map(|group| &group.0)
        .map(|relation| relation.name.as_str())
        .find(|name| name.starts_with("linux-image-") && name.ends_with("-amd64"))
        .expect("linux-image-amd64 depends on a versioned image");
    let release = image.strip_prefix("linux-image-").unwrap().to_string();
    let abi = release.strip_suffix("-amd64").unwrap();
    eprintln!("kernel release {release}");

    let headers_name = format!("linux-headers-{release}");
    let common_name = format!("linux-headers-{abi}-common");
    let lock = Lock::resolve(
        &index,
        &[headers_name.clone(), "broadcom-sta-dkms".to_string()],
    )
    .unwrap();
    let kbuild_name = lock
        .packages
        .keys()
        .find(|name| name.starts_with("linux-kbuild-"))
        .expect("the headers depend on linux-kbuild")
        .clone();
    assert!(lock.packages.contains_key(&common_name), "{common_name}");

    let mut graph = Graph::new();
    let names = [
        "broadcom-sta-dkms",
        headers_name.as_str(),
        common_name.as_str(),
        kbuild_name.as_str(),
    ];
    let ids: Vec<DrvId> = names
        .iter()
        .map(|name| add_package(&mut graph, &store, &lock.packages[*name], &options.mirror))
        .collect::<Result<_, _>>()
        .unwrap();
    let (fetch, unpack) = (FetchDeb::default(), UnpackDeb);
    let registry = Registry::new(Default::default());
    let registered = registry.builders();
    let kbuild = Counting {
        inner: registered[KBUILD_MODULE],
        calls: AtomicUsize::new(0),
    };
    let builders: Builders = [
        (FETCH_DEB, &fetch as &dyn Builder),
        (UNPACK_DEB, &unpack as &dyn Builder),
        (KBUILD_MODULE, &kbuild as &dyn Builder),
    ]
    .into_iter()
    .collect();
    let realise_all = |graph: &Graph, targets: &[DrvId]| {
        realise(
            &store,
            graph,
            targets,
            &builders,
            &RealiseOptions::default(),
            &Quiet,
        )
        .unwrap()
    };
    let trees = realise_all(&graph, &ids);
    let tree = |idx: usize| trees[&ids[idx]].clone();
    eprintln!(
        "packages fetched and unpacked after {:.1}s",
        started.elapsed().as_secs_f64()
    );

    let mut wl = Derivation::new(format!("broadcom-sta-wl-{release}"), KBUILD_MODULE);
    wl.env.insert("src".into(), tree(0).display().to_string());
    wl.env.insert(
        "headers".into(),
        [tree(1), tree(2), tree(3)]
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(" "),
    );
    wl.env.insert("modDirVersion".into(), release.clone());
    wl.env
        .insert("SOURCE_DATE_EPOCH".into(), "315532800".into());
    wl.inputs = ids.clone();
    let wl = graph.add(wl);
    let built_at = std::time::Instant::now();
    let paths = realise_all(&graph, &[wl]);
    let calls = kbuild.calls.load(Ordering::SeqCst);
    eprintln!(
        "wl.ko realised in {:.1}s ({calls} kbuild-module build(s) ran); {:.1}s in all",
        built_at.elapsed().as_secs_f64(),
        started.elapsed().as_secs_f64()
    );

    let ko = paths[&wl].join(format!("lib/modules/{release}/extra/wl.ko"));
    assert!(ko.is_file(), "{} is missing", ko.display());
    let info = kiln_image::kmod::modinfo::read_modinfo(&ko).unwrap();
    eprintln!("modinfo of {}: {info:?}", ko.display());
    assert_eq!(info.name.as_deref(), Some("wl"));
    let vermagic = info.vermagic.clone().unwrap_or_default();
    assert!(
        vermagic.starts_with(&format!("{release} SMP")),
        "vermagic {vermagic:?}"
    );
    assert!(info.depends.iter().any(|d| d == "cfg80211"), "{info:?}");
    let bytes = fs::read(&ko).unwrap();
    assert!(
        bytes
            .windows(26)
            .any(|w| w == b"license=MIXED/Proprietary\0"),
        "no license=MIXED/Proprietary in .modinfo"
    );

    // A second realise finds the entry and does not build again.
    let again = realise_all(&graph, &[wl]);
    assert_eq!(again[&wl], paths[&wl]);
    assert_eq!(kbuild.calls.load(Ordering::SeqCst), calls);

    // kmod's modinfo agrees, when the host has it.
    let modinfo = ["/sbin/modinfo", "/usr/sbin/modinfo"]
        .into_iter()
        .find(|p| Path::new(p).is_file());
    match modinfo {
        Some(modinfo) => {
            let output = std::process::Command::new(modinfo)
                .args(["-F", "vermagic"])
                .arg(&ko)
                .output()
                .unwrap();
            assert!(output.status.success(), "{modinfo} failed");
            let theirs = String::from_utf8(output.stdout).unwrap();
            assert_eq!(theirs.trim(), vermagic.trim());
        }
        None => eprintln!("no modinfo on the host: kmod's check skipped"),
    }
}
