//! Runs the module-system corpus (`tests/module/`) through kiln's evaluator.
//!
//! The same cases run through `nix-instantiate` with `tests/module/run.sh`, which produced the
//! expected files: `<case>.out` is the `--eval --strict` output, `err/<case>.err` the message
//! of the error the case must fail with. Paths under the repository root print as `<root>`.

use kiln_eval::{EvalOptions, Evaluator, FsLoader, Value};
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
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
    text.replace(&*root().to_string_lossy(), "<root>")
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
        .map_err(|err| redact(&err.to_string()))
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
        let want = expected(&case, "err");
        match eval(&case) {
            Ok(got) => failures.push(format!("{}: unexpected success: {got}", case.display())),
            Err(err) if err.trim_end() == want.trim_end() => {}
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
