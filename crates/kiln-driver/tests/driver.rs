//! The driver without the network: `derivation` values (names, laziness, inputs from string
//! contexts, errors, builders checking their attributes), paths added to the store by content
//! (`"${./x}"`, `builtins.path`, `filterSource`, `toFile`; written during evaluation in
//! read-write mode), `fetchGit` of a local repository, `pkgs` from a lock alone
//! (`--locked`, `--offline`), and the `aggregate-modules` builder on fake module trees.

use kiln_driver::{DriverError, Session, SessionOptions};
use kiln_eval::{EvalOptions, Value};
use kiln_module::Source;
use kiln_store::{Quiet, RealiseOptions};
use std::path::Path;

struct Fixture {
    dir: kiln_testkit::TempDir,
    session: Session,
    ev: kiln_eval::Evaluator,
}

const PIN: &str = "# kiln.lock
lock-version = 1
suite = bookworm
components = main
architecture = amd64
release = sha256:
request = hello

[[package]]
name = hello
version = 2.10-3
architecture = amd64
filename = pool/main/h/hello/hello_2.10-3_amd64.deb
size = 56132
sha256 = 0000000000000000000000000000000000000000000000000000000000000001
depends = libc6

[[package]]
name = libc6
version = 2.36-9
architecture = amd64
filename = pool/main/g/glibc/libc6_2.36-9_amd64.deb
size = 2757936
sha256 = 0000000000000000000000000000000000000000000000000000000000000002
";

fn fixture() -> Fixture {
    fixture_with(|_| {})
}

fn fixture_with(adjust: impl FnOnce(&mut SessionOptions)) -> Fixture {
    let dir = kiln_testkit::tempdir().unwrap();
    std::fs::write(dir.path().join("kiln.lock"), PIN).unwrap();
    let mut options = SessionOptions::for_build(&Source::File(dir.path().join("profile.nix")));
    options.store = dir.path().join("store");
    options.locked = true;
    options.archive.offline = true;
    options.archive.mirror = "http://127.0.0.1:9".into();
    adjust(&mut options);
    let session = Session::open(options).unwrap();
    let ev = session.evaluator(EvalOptions::default());
    Fixture { dir, session, ev }
}

impl Fixture {
    fn eval(&mut self, expr: &str) -> Result<Value, String> {
        let ev = &mut self.ev;
        let file = ev
            .sources_mut()
            .add_virtual("«test»", self.dir.path(), expr);
        let value = ev.eval_source(file).map_err(|e| e.to_string())?;
        ev.force_deep(&value).map_err(|e| e.to_string())
    }

    /// The error's diagnostic code and message.
    fn error(&mut self, expr: &str) -> (String, String) {
        let ev = &mut self.ev;
        let file = ev
            .sources_mut()
            .add_virtual("«test»", self.dir.path(), expr);
        let err = ev
            .eval_source(file)
            .and_then(|v| ev.force_deep(&v))
            .map(|_| ())
            .expect_err(expr);
        (err.code().to_string(), err.to_string())
    }

    fn string(&mut self, expr: &str) -> String {
        match self.eval(expr) {
            Ok(Value::String(s)) => s.as_str().to_string(),
            other => panic!("`{expr}` gave {:?}", other.map(|v| v.type_of())),
        }
    }

    fn store_dir(&self) -> String {
        std::fs::canonicalize(self.dir.path().join("store"))
            .unwrap()
            .display()
            .to_string()
    }
}

// `package-tree` has no required attribute, so it stands in for any builder here.
const DRV: &str = r#"derivation { name = "hello-iso"; system = "x86_64-linux"; builder = "package-tree"; volumeID = "HELLO"; }"#;

#[test]
fn derivation_values_look_like_nix() {
    let mut f = fixture();
    let out = f.string(&format!("({DRV}).outPath"));
    assert!(out.starts_with(&format!("{}/", f.store_dir())), "{out}");
    assert!(out.ends_with("-hello-iso"), "{out}");
    let drv = f.string(&format!("({DRV}).drvPath"));
    assert_eq!(drv, format!("{out}.drv"));
    assert_eq!(f.string(&format!("({DRV}).type")), "derivation");
    assert_eq!(f.string(&format!("({DRV}).volumeID")), "HELLO");
    assert_eq!(f.string(&format!("\"${{{DRV}}}\"")), out);
    // The same description names the same output; another one another.
    assert_eq!(f.string(&format!("({DRV}).outPath")), out);
    let other = f.string(&format!("({}).outPath", DRV.replace("HELLO", "OTHER")));
    assert_ne!(other, out);
}

#[test]
fn derivation_attributes_stay_lazy() {
    let mut f = fixture();
    // `name` is read without computing the output (Nix's `derivation` wraps `derivationStrict`).
    let name = f.string(
        r#"(derivation { name = "x"; builder = "package-tree"; boom = throw "forced"; }).name"#,
    );
    assert_eq!(name, "x");
    let err = f
        .eval(r#"(derivation { name = "x"; builder = "package-tree"; boom = throw "forced"; }).outPath"#)
        .unwrap_err();
    assert!(err.contains("forced"), "{err}");
}

#[test]
fn inputs_come_from_string_contexts() {
    let mut f = fixture();
    let value = f
        .eval(
            r#"let
                 a = derivation { name = "a"; builder = "package-tree"; };
                 b = derivation { name = "b"; builder = "package-tree"; initrd = a; kernelFile = "${a}/boot/vmlinuz"; flags = [ true false null 3 ]; };
               in b"#,
        )
        .unwrap();
    let targets = f.session.targets(&mut f.ev, &value).unwrap();
    assert_eq!(targets.len(), 1);
    let graph = f.session.graph();
    let b = graph.get(&targets[0]).unwrap();
    assert_eq!(b.name, "b");
    assert_eq!(b.inputs.len(), 1, "a is b's one input");
    let a = graph.get(&b.inputs[0]).unwrap();
    assert_eq!(a.name, "a");
    // Environment strings as Nix makes them.
    assert_eq!(b.env["flags"], "1   3");
    assert!(b.env["kernelFile"].ends_with("-a/boot/vmlinuz"));
    assert_eq!(b.env["builder"], "package-tree");
}

#[test]
fn bad_derivations_are_clear_errors() {
    let mut f = fixture();
    let err = f
        .eval(r#"(derivation { name = "x"; builder = "/bin/sh"; }).outPath"#)
        .unwrap_err();
    assert!(
        err.contains("unknown builder `/bin/sh`")
            && err.contains("iso")
            && err.contains("package-tree"),
        "{err}"
    );
    let err = f
        .eval(r#"(derivation { name = "x"; builder = "package-tree"; outputs = [ "out" "dev" ]; }).outPath"#)
        .unwrap_err();
    assert!(err.contains("single output"), "{err}");
    let err = f
        .eval(r#"(derivation { builder = "package-tree"; }).outPath"#)
        .unwrap_err();
    assert!(err.contains("name"), "{err}");
    let err = f
        .eval(r#"(derivation { name = "a/b"; builder = "package-tree"; }).outPath"#)
        .unwrap_err();
    assert!(err.contains("a/b"), "{err}");
}

#[test]
fn path_sources_are_copied_into_the_store() {
    let mut f = fixture();
    let src = f.dir.path().join("splash.txt");
    std::fs::write(&src, "kiln\n").unwrap();
    let value = f
        .eval(r#"derivation { name = "uses-splash"; builder = "package-tree"; splash = ./splash.txt; }"#)
        .unwrap();
    let targets = f.session.targets(&mut f.ev, &value).unwrap();
    let graph = f.session.graph();
    let drv = graph.get(&targets[0]).unwrap();
    let splash = &drv.env["splash"];
    assert!(
        splash.starts_with(&f.store_dir()) && splash.ends_with("-splash.txt"),
        "{splash}"
    );
    let copy = drv.inputs[0];
    let paths = f
        .session
        .realise(&[copy], &RealiseOptions::default(), &Quiet)
        .unwrap();
    assert_eq!(paths[0].display().to_string(), *splash);
    assert_eq!(std::fs::read_to_string(&paths[0]).unwrap(), "kiln\n");
    // Content-addressed: the same bytes elsewhere name the same entry.
    std::fs::create_dir(f.dir.path().join("other")).unwrap();
    std::fs::write(f.dir.path().join("other/splash.txt"), "kiln\n").unwrap();
    let value = f
        .eval(r#"derivation { name = "y"; builder = "package-tree"; s = ./other/splash.txt; }"#)
        .unwrap();
    let targets = f.session.targets(&mut f.ev, &value).unwrap();
    let graph = f.session.graph();
    assert_eq!(graph.get(&targets[0]).unwrap().inputs, vec![copy]);
}

#[test]
fn pkgs_come_from_the_lock_without_network() {
    let mut f = fixture();
    let pkgs = f.session.debian();
    let ev = &mut f.ev;
    let attrs = ev.force_attrs(&pkgs).unwrap();
    assert!(attrs.get_str("hello").is_some() && attrs.get_str("libc6").is_some());
    let hello = ev.force_attrs(attrs.get_str("hello").unwrap()).unwrap();
    let version = ev.force_string(hello.get_str("version").unwrap()).unwrap();
    assert_eq!(version.as_str(), "2.10-3");
    let depends = ev.force_list(hello.get_str("depends").unwrap()).unwrap();
    assert_eq!(depends.len(), 1);
    let out = ev.force_string(hello.get_str("outPath").unwrap()).unwrap();
    assert!(out.as_str().ends_with("-hello-2.10-3"), "{}", out.as_str());
    // --offline: nothing is fetched; the error names what is missing.
    let hello_value = attrs.get_str("hello").unwrap().clone();
    let targets = f.session.targets(&mut f.ev, &hello_value).unwrap();
    let options = RealiseOptions {
        jobs: 1,
        offline: true,
        ..RealiseOptions::default()
    };
    let err = f.session.realise(&targets, &options, &Quiet).unwrap_err();
    let DriverError::Store(err) = err else {
        panic!("{err}")
    };
    let text = err.to_string();
    assert!(
        text.contains("hello_2.10-3_amd64.deb") && !text.contains("-hello-2.10-3,"),
        "{text}"
    );
    // Nothing was built: the session's temporary directory (`.tmp/<token>`) is empty.
    for dir in Path::new(&f.dir.path().join("store"))
        .join(".tmp")
        .read_dir()
        .unwrap()
    {
        assert_eq!(dir.unwrap().path().read_dir().unwrap().count(), 0);
    }
}

/// Writes an ELF object whose `.modinfo` holds `modinfo`: a `.ko` as far as kiln reads one.
fn write_ko(path: &Path, modinfo: &[&str]) {
    use object::write::Object;
    use object::{Architecture, BinaryFormat, Endianness, SectionKind};
    let mut obj = Object::new(BinaryFormat::Elf, Architecture::X86_64, Endianness::Little);
    let section = obj.add_section(
        Vec::new(),
        b".modinfo".to_vec(),
        SectionKind::ReadOnlyString,
    );
    let data: Vec<u8> = modinfo
        .iter()
        .flat_map(|m| [m.as_bytes(), b"\0"].concat())
        .collect();
    obj.append_section_data(section, &data, 1);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, obj.write().unwrap()).unwrap();
}

/// `aggregate-modules` merges the kernel's tree with an extra module package: the later tree's
/// module wins, the kernel's other files come along, and the indexes describe the merged tree.
#[test]
fn aggregate_modules_merges_trees_and_indexes_them() {
    let mut f = fixture();
    let kernel = f.dir.path().join("kernel/lib/modules/6.1.0-t");
    let extra = f.dir.path().join("extra/lib/modules/6.1.0-t");
    write_ko(
        &kernel.join("kernel/net/cfg80211.ko"),
        &["name=cfg80211", "depends=", "firmware=regulatory.db"],
    );
    write_ko(
        &kernel.join("kernel/drivers/wl.ko"),
        &["name=wl", "depends="],
    );
    write_ko(
        &extra.join("extra/wl.ko"),
        &["name=wl", "depends=cfg80211", "alias=pci:v000014E4d*"],
    );
    std::fs::write(kernel.join("modules.builtin"), "kernel/fs/ext4/ext4.ko\n").unwrap();
    // A stale depmod output in an input tree is not taken over.
    std::fs::write(kernel.join("modules.dep"), "stale\n").unwrap();
    let value = f
        .eval(
            r#"derivation { name = "kernel-modules"; builder = "aggregate-modules";
                 modDirVersion = "6.1.0-t"; moduleTrees = [ ./kernel ./extra ]; }"#,
        )
        .unwrap();
    let targets = f.session.targets(&mut f.ev, &value).unwrap();
    let out = f
        .session
        .realise(&targets, &RealiseOptions::default(), &Quiet)
        .unwrap()
        .remove(0);
    let root = out.join("lib/modules/6.1.0-t");
    assert!(root.join("extra/wl.ko").is_file());
    assert!(
        !root.join("kernel/drivers/wl.ko").exists(),
        "the kernel's wl lost to extra/wl.ko"
    );
    assert!(root.join("kernel/net/cfg80211.ko").is_file());
    assert_eq!(
        std::fs::read_to_string(root.join("modules.builtin")).unwrap(),
        "kernel/fs/ext4/ext4.ko\n"
    );
    let dep = std::fs::read_to_string(root.join("modules.dep")).unwrap();
    assert_eq!(
        dep,
        "extra/wl.ko: kernel/net/cfg80211.ko\nkernel/net/cfg80211.ko:\n"
    );
    let alias = std::fs::read_to_string(root.join("modules.alias")).unwrap();
    assert!(alias.contains("alias pci:v000014E4d* wl\n"), "{alias}");
    // The saved index gives what reading every module gives, firmware included.
    let index = kiln_image::kmod::open_index(&root).unwrap();
    let scanned =
        kiln_image::kmod::index_modules(&[kiln_image::kmod::ModuleTree { root: root.clone() }])
            .unwrap();
    assert!(root.join(kiln_image::kmod::INDEX_FILE).is_file());
    assert_eq!(index.modules.keys().collect::<Vec<_>>(), ["cfg80211", "wl"]);
    for (name, module) in &index.modules {
        assert_eq!(module.info.depends, scanned.modules[name].info.depends);
        assert_eq!(module.info.firmware, scanned.modules[name].info.firmware);
        assert_eq!(module.info.aliases, scanned.modules[name].info.aliases);
        assert_eq!(module.rel_path, scanned.modules[name].rel_path);
    }
    assert_eq!(index.builtin.iter().collect::<Vec<_>>(), ["ext4"]);
}

/// A path in a string is added to the store by content, as in Nix: the string is its store
/// path with the path as context; a changed byte is another entry; `toString` keeps the path;
/// a missing path is an error.
#[test]
fn paths_in_strings_are_store_paths_by_content() {
    let mut f = fixture();
    std::fs::write(f.dir.path().join("payload.txt"), "one\n").unwrap();
    let first = f.string(r#""${./payload.txt}""#);
    assert!(
        first.starts_with(&format!("{}/", f.store_dir())) && first.ends_with("-payload.txt"),
        "{first}"
    );
    let context = f.string(r#"builtins.toJSON (builtins.getContext "${./payload.txt}")"#);
    assert_eq!(context, format!(r#"{{"{first}":{{"path":true}}}}"#));
    assert_eq!(
        f.string(r#""${./payload.txt}""#),
        first,
        "same bytes, same path"
    );
    // `toJSON` of a path (how `isoImage.contents` reaches the ISO builder) copies it too.
    assert_eq!(
        f.string("builtins.toJSON ./payload.txt"),
        format!("\"{first}\"")
    );
    assert_eq!(
        f.string("toString ./payload.txt"),
        f.dir.path().join("payload.txt").display().to_string()
    );
    std::fs::write(f.dir.path().join("payload.txt"), "two\n").unwrap();
    let second = f.string(r#""${./payload.txt}""#);
    assert_ne!(second, first, "a changed file is a new store path");
    let (code, message) = f.error(r#""${./fnord}""#);
    assert_eq!(code, "kiln::eval::io", "{message}");
    assert!(message.contains("fnord"), "{message}");
    assert_eq!(f.string("builtins.storeDir"), f.store_dir());
}

/// `builtins.path` and `filterSource` add a filtered tree; what realises is what was read.
#[test]
fn builtins_path_and_filter_source_filter_the_tree() {
    let mut f = fixture();
    let src = f.dir.path().join("src");
    std::fs::create_dir_all(src.join("sub")).unwrap();
    std::fs::write(src.join("keep.txt"), "keep\n").unwrap();
    std::fs::write(src.join("drop.log"), "drop\n").unwrap();
    std::fs::write(src.join("sub/inner.txt"), "inner\n").unwrap();
    let filtered = r#"builtins.path { path = ./src; name = "filtered"; filter = p: t: !(builtins.match ".*\\.log" p != null); }"#;
    let path = f.string(filtered);
    assert!(path.ends_with("-filtered"), "{path}");
    let same =
        f.string(r#"builtins.filterSource (p: t: !(builtins.match ".*\\.log" p != null)) ./src"#);
    assert!(same.ends_with("-src"), "{same}");
    let value = f
        .eval(&format!(
            "derivation {{ name = \"x\"; builder = \"package-tree\"; packages = [ ({filtered}) ]; }}"
        ))
        .unwrap();
    let targets = f.session.targets(&mut f.ev, &value).unwrap();
    let graph = f.session.graph();
    let copy = graph.get(&targets[0]).unwrap().inputs[0];
    let realised = f
        .session
        .realise(&[copy], &RealiseOptions::default(), &Quiet)
        .unwrap()
        .remove(0);
    assert_eq!(realised.display().to_string(), path);
    assert!(realised.join("keep.txt").is_file() && realised.join("sub/inner.txt").is_file());
    assert!(!realised.join("drop.log").exists(), "the filter dropped it");
    // A directory the filter refuses is not entered.
    let no_sub = f.string(r#"builtins.path { path = ./src; filter = p: t: t != "directory"; }"#);
    assert_ne!(no_sub, path);
    // `sha256` checks the NAR hash, as Nix does.
    let (_, message) = f.error(r#"builtins.path { path = ./src; sha256 = "0000000000000000000000000000000000000000000000000000"; }"#);
    assert!(message.contains("store path mismatch"), "{message}");
}

/// `builtins.toFile` writes a store file; derivation outputs may not be referenced.
#[test]
fn to_file_is_a_store_file() {
    let mut f = fixture();
    let path = f.string(r#"builtins.toFile "greeting" "hello\n""#);
    assert!(path.ends_with("-greeting"), "{path}");
    let value = f
        .eval(r#"derivation { name = "x"; builder = "package-tree"; packages = [ (builtins.toFile "greeting" "hello\n") ]; }"#)
        .unwrap();
    let targets = f.session.targets(&mut f.ev, &value).unwrap();
    let graph = f.session.graph();
    let file = graph.get(&targets[0]).unwrap().inputs[0];
    let realised = f
        .session
        .realise(&[file], &RealiseOptions::default(), &Quiet)
        .unwrap()
        .remove(0);
    assert_eq!(std::fs::read_to_string(realised).unwrap(), "hello\n");
    let (_, message) = f.error(&format!("builtins.toFile \"x\" \"${{{DRV}}}\""));
    assert!(
        message.contains("must not contain a reference to a derivation"),
        "{message}"
    );
}

/// Builders read their attributes when a derivation is recorded: a host path, an ill-typed
/// value or a missing attribute is an evaluation error naming the derivation and the
/// attribute, and nothing is recorded.
#[test]
fn builders_check_their_attributes_at_evaluation() {
    let mut f = fixture();
    std::fs::write(f.dir.path().join("secret"), "s3cr3t\n").unwrap();
    let host_file = f.dir.path().join("secret").display().to_string();
    let iso = |contents: &str| {
        format!(
            r#"(derivation {{ name = "bad-iso"; builder = "iso"; isoName = "x.iso"; volumeID = "X";
                kernel = {DRV}; initrd = {DRV}; layers = builtins.toJSON [ {{ name = "base"; layer = {DRV}; }} ]; bios = false; efi = true; usb = false;
                systemdBoot = {DRV}; menuTitle = "x"; timeout = 1;
                bootEntries = builtins.toJSON [ {{ name = "default"; label = "x"; params = ""; }} ];
                packageManifest = {DRV}; SOURCE_DATE_EPOCH = 0; contents = {contents}; }}).outPath"#
        )
    };
    let before = f.session.graph().len();
    let (code, message) = f.error(&iso(&format!(
        r#"builtins.toJSON [ {{ source = "{host_file}"; target = "/secret"; }} ]"#
    )));
    assert_eq!(code, "kiln::store::bad_input", "{message}");
    assert!(
        message.contains("derivation `bad-iso`")
            && message.contains("attribute `contents`")
            && message.contains("[0].source")
            && message.contains(&host_file),
        "{message}"
    );
    // The same file as a path value is added by content, and accepted.
    std::fs::write(f.dir.path().join("payload"), "ok\n").unwrap();
    f.string(&iso(
        r#"builtins.toJSON [ { source = ./payload; target = "/payload"; } ]"#,
    ));

    let (code, message) = f.error(&format!(
        r#"(derivation {{ name = "bad-root"; builder = "package-tree"; packages = "{}"; }}).outPath"#,
        f.dir.path().display()
    ));
    assert_eq!(code, "kiln::store::bad_input", "{message}");
    assert!(message.contains("attribute `packages[0]`"), "{message}");
    let (_, message) = f.error(&format!(
        r#"(derivation {{ name = "sq"; builder = "kernel-layer"; modulesTree = {DRV}; kmod = {DRV}; modDirVersion = "6.1.0-1-amd64"; compression = "lz4"; SOURCE_DATE_EPOCH = 0; }}).outPath"#
    ));
    assert!(message.contains("attribute `compression`"), "{message}");
    let (_, message) = f.error(&format!(
        r#"(derivation {{ name = "sq"; builder = "kernel-layer"; modulesTree = {DRV}; kmod = {DRV}; modDirVersion = "6.1.0-1-amd64"; compression = "zstd"; SOURCE_DATE_EPOCH = "soon"; }}).outPath"#
    ));
    assert!(
        message.contains("attribute `SOURCE_DATE_EPOCH`"),
        "{message}"
    );
    let (_, message) = f.error(&format!(
        r#"(derivation {{ name = "sq"; builder = "kernel-layer"; modulesTree = {DRV}; kmod = {DRV}; modDirVersion = "6.1.0-1-amd64"; compression = "zstd"; }}).outPath"#
    ));
    assert!(
        message.contains("missing field `SOURCE_DATE_EPOCH`"),
        "{message}"
    );
    let graph = f.session.graph();
    let recorded: Vec<&str> = graph.iter().map(|(_, drv)| drv.name.as_str()).collect();
    assert!(graph.len() > before, "the good ISO was recorded");
    for refused in ["bad-root", "sq"] {
        assert!(!recorded.contains(&refused), "{refused} was recorded");
    }
}

#[test]
fn sources_are_written_during_evaluation_only_in_read_write_mode() {
    let expr = r#"builtins.readFile (builtins.toFile "note" "written")"#;
    // Computed only, as in nix-instantiate's read-only mode: reading it back is nix's error.
    let mut f = fixture();
    let (code, message) = f.error(expr);
    assert_eq!(code, "kiln::driver::invalid_path", "{message}");
    assert!(
        message.starts_with("path '") && message.ends_with("-note' is not valid"),
        "{message}"
    );
    let mut f = fixture_with(|options| options.read_write_mode = true);
    assert_eq!(f.string(expr), "written");
    let three = f.eval(r#"import (builtins.toFile "three.nix" "1 + 2")"#);
    assert!(matches!(three, Ok(Value::Int(3))), "{three:?}");
    // A derivation's output is never built while evaluating.
    let (code, message) = f.error(&format!("builtins.readFile \"${{{DRV}}}/x\""));
    assert_eq!(code, "kiln::driver::invalid_path", "{message}");
    assert!(
        message.ends_with("-hello-iso.drv' is not valid"),
        "{message}"
    );
}

/// Runs `git ARGS` in `dir` with a fixed identity and dates; `false` if there is no git.
fn git(dir: &Path, args: &[&str]) -> bool {
    let Ok(out) = std::process::Command::new("git")
        .current_dir(dir)
        .args(["-c", "user.name=kiln", "-c", "user.email=kiln@example.org"])
        .args(args)
        .env("GIT_AUTHOR_DATE", "2020-01-02T03:04:05Z")
        .env("GIT_COMMITTER_DATE", "2020-01-02T03:04:05Z")
        .output()
    else {
        return false;
    };
    assert!(out.status.success(), "git {args:?}: {out:?}");
    true
}

#[test]
fn fetch_git_adds_a_local_checkout_by_content() {
    let mut f = fixture();
    let repo = f.dir.path().join("repo");
    std::fs::create_dir(&repo).unwrap();
    std::fs::write(repo.join("a"), "one\n").unwrap();
    if !git(&repo, &["init", "--quiet", "--initial-branch=main"]) {
        // Without git, fetchGit says what is missing.
        let (code, _) = f.error("builtins.fetchGit ./repo");
        assert_eq!(code, "kiln::driver::git_missing");
        return;
    }
    assert!(git(&repo, &["add", "a"]));
    assert!(git(&repo, &["commit", "--quiet", "-m", "one"]));
    let rev = |f: &mut Fixture| f.string("(builtins.fetchGit ./repo).rev");
    let clean = rev(&mut f);
    assert_eq!(clean.len(), 40);
    let last_modified = f.eval("(builtins.fetchGit ./repo).lastModified");
    assert!(
        matches!(last_modified, Ok(Value::Int(1_577_934_245))),
        "{last_modified:?}"
    );
    // The tree is in the store (nix's fetchers write even in read-only mode).
    assert_eq!(
        f.string(r#"builtins.readFile "${builtins.fetchGit ./repo}/a""#),
        "one\n"
    );
    // A derivation that uses it has its copy-path entry as an input.
    let value = f
        .eval(r#"derivation { name = "uses-src"; builder = "package-tree"; src = (builtins.fetchGit ./repo).outPath; }"#)
        .unwrap();
    let targets = f.session.targets(&mut f.ev, &value).unwrap();
    let graph = f.session.graph();
    let drv = graph.get(&targets[0]).unwrap();
    assert_eq!(drv.inputs.len(), 1);
    let source = graph.get(&drv.inputs[0]).unwrap();
    assert_eq!(
        (source.name.as_str(), source.builder.as_str()),
        ("source", "copy-path")
    );
    // A dirty tree: the tracked files as they are, the zero rev; another key for other bytes.
    std::fs::write(repo.join("a"), "two\n").unwrap();
    std::fs::write(repo.join("untracked"), "not taken\n").unwrap();
    assert_eq!(rev(&mut f), "0".repeat(40));
    assert_eq!(
        f.string(r#"builtins.readFile "${builtins.fetchGit ./repo}/a""#),
        "two\n"
    );
    assert_eq!(
        f.string(r#"toString (builtins.attrNames (builtins.readDir (builtins.fetchGit ./repo)))"#),
        "a"
    );
    let dirty = f.string("(builtins.fetchGit ./repo).outPath");
    let committed = f.string(&format!(
        r#"(builtins.fetchGit {{ url = ./repo; rev = "{clean}"; }}).outPath"#
    ));
    assert_ne!(dirty, committed);
    // Never the network.
    let (code, _) = f.error(r#"builtins.fetchGit "https://example.org/repo.git""#);
    assert_eq!(code, "kiln::eval::not_available");
}
