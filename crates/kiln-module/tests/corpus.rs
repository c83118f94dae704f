//! Runs the module-system corpus (`tests/module/`) through kiln's evaluator, plus kiln's own
//! golden tests of the Rust side: `explain` output, module diagnostics and the profile door.
//!
//! The corpus cases run through `nix-instantiate` with `tests/module/run.sh` too, which produced
//! their expected files: `<case>.out` is the `--eval --strict` output, `err/<case>.err` the message
//! of the error the case must fail with. Where kiln's wording differs on purpose (language errors
//! use backticks and put suggestions in a help line), `err/<case>.kiln-err` overrides `.err`.
//! `explain/<case>.nix` is a profile whose first line names the option (`# explain: NAME`);
//! `<case>.explain` is `kiln explain` output. `UPDATE_EXPECT=1` rewrites the kiln-only expected
//! files (`.explain`, `.kiln-err`); nix's expected files come from `run.sh`.
//! Paths under the repository root print as `<root>`.

use kiln_eval::{EvalOptions, Evaluator, FsLoader, Value};
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    kiln_testkit::workspace()
}

fn cases(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "nix"))
        .collect();
    files.sort();
    files
}

fn redact(text: &str) -> String {
    kiln_testkit::redact(text)
}

/// `value.name` of a set, forced.
fn attr(ev: &mut Evaluator, value: &Value, name: &str) -> kiln_eval::Attrs {
    let attrs = ev.force_attrs(value).unwrap();
    let v = attrs
        .get_str(name)
        .unwrap_or_else(|| panic!("no attribute {name}"))
        .clone();
    ev.force_attrs(&v).unwrap()
}

fn update_expect() -> bool {
    kiln_testkit::update_expect()
}

/// An error as the corpus compares it: the message, then the help line if any.
fn error_text(ev: &Evaluator, err: &kiln_eval::EvalError) -> String {
    let report = err.report(ev.sources(), Some(0));
    let mut text = err.to_string();
    if let Some(help) = miette::Diagnostic::help(&report) {
        text.push_str(&format!("\nhelp: {help}"));
    }
    redact(&text)
}

/// `kiln eval --strict FILE` with the embedded library on the search path.
fn eval(path: &Path) -> Result<String, String> {
    let options = EvalOptions {
        search_path: vec![kiln_module::search_path_entry()],
        trace_to_stderr: false,
        ..EvalOptions::default()
    };
    let mut ev = Evaluator::new(options, Box::new(kiln_module::LibLoader::new(FsLoader)));
    ev.import(&Value::path(path.to_string_lossy().into_owned()))
        .and_then(|v| ev.print(&v, true))
        .map(|s| redact(&s) + "\n")
        .map_err(|err| error_text(&ev, &err))
}

fn expected(path: &Path, ext: &str) -> String {
    let file = path.with_extension(ext);
    std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()))
}

#[test]
fn module_corpus_ok() {
    let mut failures = Vec::new();
    let dir = root().join("tests/module");
    for case in cases(&dir) {
        let want = expected(&case, "out");
        match eval(&case) {
            Ok(got) if got == want => {}
            Ok(got) => failures.push(format!("{}:\n  want {want}  got  {got}", case.display())),
            Err(err) => failures.push(format!("{}:\n  want {want}  error {err}", case.display())),
        }
    }
    assert!(
        failures.is_empty(),
        "{} module cases differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn module_corpus_err() {
    let mut failures = Vec::new();
    let dir = root().join("tests/module/err");
    for case in cases(&dir) {
        let kiln_err = case.with_extension("kiln-err");
        let want = if kiln_err.exists() {
            expected(&case, "kiln-err")
        } else {
            expected(&case, "err")
        };
        match eval(&case) {
            Ok(got) => failures.push(format!("{}: unexpected success: {got}", case.display())),
            Err(err) if err.trim_end() == want.trim_end() => {}
            Err(err) if kiln_err.exists() && update_expect() => {
                std::fs::write(&kiln_err, err + "\n").unwrap();
            }
            Err(err) => failures.push(format!("{}:\n  want {want}\n  got  {err}", case.display())),
        }
    }
    assert!(
        failures.is_empty(),
        "{} module error cases differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn lib_resolves_through_search_path() {
    let options = EvalOptions {
        search_path: vec![kiln_module::search_path_entry()],
        ..EvalOptions::default()
    };
    let mut ev = Evaluator::new(options, Box::new(kiln_module::LibLoader::new(FsLoader)));
    let file = ev.sources_mut().add_virtual(
        "«string»",
        Path::new("/"),
        "let lib = import <kiln/lib>; in [ (lib.mkForce 1).priority (lib.mkImageMediaOverride 1).priority (lib.mkVMOverride 1).priority ]",
    );
    let value = ev.eval_source(file).unwrap();
    assert_eq!(ev.print(&value, true).unwrap(), "[ 50 60 10 ]");
}

/// `kiln explain` on `explain/<case>.nix`, compared with `<case>.explain`.
#[test]
fn explain_golden() {
    let mut failures = Vec::new();
    let dir = root().join("tests/module/explain");
    for case in cases(&dir) {
        let text = std::fs::read_to_string(&case).unwrap();
        let Some(option) = text
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("# explain: "))
        else {
            failures.push(format!(
                "{}: first line must be `# explain: OPTION`",
                case.display()
            ));
            continue;
        };
        let mut ev = kiln_module::evaluator(EvalOptions {
            trace_to_stderr: false,
            ..EvalOptions::default()
        });
        let pkgs = fake_pkgs(&mut ev);
        let got = kiln_module::eval_profile(&mut ev, &case, pkgs)
            .and_then(|result| kiln_module::explain(&mut ev, &result, option.trim()))
            .map(|e| redact(&e.to_string()))
            .unwrap_or_else(|err| format!("error: {}\n", error_text(&ev, &err)));
        let file = case.with_extension("explain");
        if update_expect() {
            std::fs::write(&file, &got).unwrap();
            continue;
        }
        let want = std::fs::read_to_string(&file).unwrap_or_default();
        if got != want {
            failures.push(format!(
                "{}:\n--- want\n{want}--- got\n{got}",
                case.display()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} explain cases differ (UPDATE_EXPECT=1 rewrites):\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// The issue's acceptance check: the macbook profile's `boot.kernelModules` as JSON lists
/// `kvm-intel` and `wl`, in NixOS's order, without forcing any package's store path.
#[test]
fn macbook_kernel_modules_json() {
    let mut ev = kiln_module::evaluator(EvalOptions {
        trace_to_stderr: false,
        ..EvalOptions::default()
    });
    let profile =
        root().join("profiles/installer/cd-dvd/installation-cd-graphical-gnome-macbook.nix");
    let pkgs = fake_pkgs(&mut ev);
    let result = kiln_module::eval_profile(&mut ev, &profile, pkgs).unwrap();
    let config = attr(&mut ev, &result, "config");
    let boot = ev.force_attrs(config.get_str("boot").unwrap()).unwrap();
    let modules = boot.get_str("kernelModules").unwrap().clone();
    assert_eq!(
        ev.print_json(&modules, true).unwrap(),
        r#"["kvm-intel","wl","loop","atkbd"]"#
    );
}

/// The same profile, embedded in the binary, needs no checkout: `modulesPath` and the default
/// profile resolve under `/@kiln/profiles`.
#[test]
fn embedded_profiles_evaluate_from_anywhere() {
    let mut ev = kiln_module::evaluator(EvalOptions {
        trace_to_stderr: false,
        ..EvalOptions::default()
    });
    let file = ev.sources_mut().add_virtual(
        "«string»",
        Path::new("/"),
        "{ modulesPath, ... }: { imports = [ (modulesPath + \"/installer/cd-dvd/installation-cd-graphical-gnome-macbook.nix\") ]; }",
    );
    let module = ev.eval_source(file).unwrap();
    let pkgs = fake_pkgs(&mut ev);
    let result = kiln_module::eval_modules(&mut ev, vec![module], pkgs).unwrap();
    let config = attr(&mut ev, &result, "config");
    let iso = ev.force_attrs(config.get_str("isoImage").unwrap()).unwrap();
    let name = iso.get_str("isoName").unwrap().clone();
    assert_eq!(
        ev.print(&name, true).unwrap(),
        "\"kiln-installer-gnome.iso\""
    );
}

/// The stand-in package set the nix-instantiate parity tests use too
/// (`tests/module/support/fake-pkgs.nix`); kiln-driver's tests use Debian's from a lock.
fn fake_pkgs(ev: &mut kiln_eval::Evaluator) -> kiln_eval::Value {
    let path = root().join("tests/module/support/fake-pkgs.nix");
    ev.import(&kiln_eval::Value::path(path.to_string_lossy().into_owned()))
        .unwrap()
}

/// Module errors become reports with a code and a labelled span on every definition that
/// lives in a readable file.
#[test]
fn module_errors_point_at_definitions() {
    let cases = [
        (
            "err/profile-plain-conflict.nix",
            "kiln::module::conflict",
            2,
        ),
        (
            "err/conflicting-definitions-lines.nix",
            "kiln::module::conflict",
            2,
        ),
        (
            "err/profile-kernel-modules-typo.nix",
            "kiln::module::undeclared_option",
            0,
        ),
        (
            "err/used-but-not-defined.nix",
            "kiln::module::used_but_not_defined",
            0,
        ),
        (
            "err/type-mismatch-enum.nix",
            "kiln::module::type_mismatch",
            0,
        ),
        (
            "err/read-undeclared-option.nix",
            "kiln::eval::missing_attr",
            0,
        ),
    ];
    for (case, code, labelled) in cases {
        let path = root().join("tests/module").join(case);
        let options = EvalOptions {
            search_path: vec![kiln_module::search_path_entry()],
            trace_to_stderr: false,
            ..EvalOptions::default()
        };
        let mut ev = kiln_module::evaluator(options);
        let err = ev
            .import(&Value::path(path.to_string_lossy().into_owned()))
            .and_then(|v| ev.force_deep(&v))
            .err()
            .unwrap_or_else(|| panic!("{case}: no error"));
        let report = kiln_module::report(&ev, &err, Some(5));
        assert_eq!(
            report.code().map(|c| c.to_string()).as_deref(),
            Some(code),
            "{case}"
        );
        let related = report.related().map_or(0, |r| {
            r.filter(|d| d.labels().is_some() && !d.to_string().starts_with("while"))
                .count()
        });
        if code.starts_with("kiln::module") {
            assert_eq!(related, labelled, "{case}: labelled definitions");
        }
        // Rendering never panics and names every file of the message.
        let rendered = format!("{report:?}");
        assert!(!rendered.is_empty());
    }
}

/// With `KILN_SLOW_TESTS=1`: every installer profile's whole `config` (minus `system.build`), as
/// `--strict --json`, is byte for byte what nix-instantiate 2.8 prints for the same file
/// (`tests/bench/modules/profile-config.nix`, with the test package set on both sides).
#[test]
fn installer_profiles_match_nix() {
    if !kiln_testkit::slow(
        "the installer profiles match nix-instantiate",
        &["nix-instantiate"],
    ) {
        return;
    }
    let entry = root().join("tests/bench/modules/profile-config.nix");
    let mut failures = Vec::new();
    for profile in cases(&root().join("profiles/installer/cd-dvd")) {
        let profile_arg = profile.to_string_lossy().into_owned();
        let nix = std::process::Command::new("nix-instantiate")
            .args(["--eval", "--strict", "--json"])
            .arg(&entry)
            .args(["--arg", "profile", &profile_arg])
            .output()
            .expect("nix-instantiate (KILN_SLOW_TESTS=1 needs Debian's nix-bin)");
        let want = String::from_utf8_lossy(&nix.stdout).into_owned();
        let mut ev = kiln_module::evaluator(EvalOptions {
            trace_to_stderr: false,
            ..EvalOptions::default()
        });
        let got = ev
            .import(&Value::path(entry.to_string_lossy().into_owned()))
            .and_then(|f| ev.call(&f, profile_arg_value(&profile_arg)))
            .and_then(|v| ev.print_json(&v, true))
            .unwrap_or_else(|err| format!("error: {err}"));
        if !nix.status.success() || got != want {
            failures.push(format!(
                "{}:\n  nix  {want}\n  kiln {got}",
                profile.display()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// `{ profile = PATH; }`, the argument of `profile-config.nix`.
fn profile_arg_value(path: &str) -> Value {
    Value::Attrs(kiln_eval::Attrs::from_entries(vec![kiln_eval::AttrEntry {
        name: kiln_eval::Symbol::intern("profile"),
        value: Value::path(path.to_string()),
        pos: None,
    }]))
}

/// The cycle collector may run at any point of a module evaluation, where the library's `let`s
/// and fixpoints make cycles everywhere, without changing a result or an error: every case is
/// evaluated with a collection after every fifth recursive environment and compared with the
/// plain evaluation.
#[test]
fn cycle_collection_during_module_evaluation_is_invisible() {
    let eval_collecting = |path: &Path| -> Result<String, String> {
        let options = EvalOptions {
            search_path: vec![kiln_module::search_path_entry()],
            trace_to_stderr: false,
            collect_cycles_every: Some(5),
            ..EvalOptions::default()
        };
        let mut ev = Evaluator::new(options, Box::new(kiln_module::LibLoader::new(FsLoader)));
        ev.import(&Value::path(path.to_string_lossy().into_owned()))
            .and_then(|v| ev.print(&v, true))
            .map(|s| redact(&s) + "\n")
            .map_err(|err| error_text(&ev, &err))
    };
    let dir = root().join("tests/module");
    let mut failures = Vec::new();
    for case in cases(&dir).into_iter().chain(cases(&dir.join("err"))) {
        let (plain, collected) = (eval(&case), eval_collecting(&case));
        if plain != collected {
            failures.push(format!(
                "{}:\n  plain     {plain:?}\n  collected {collected:?}",
                case.display()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
