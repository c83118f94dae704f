//! The kiln-eval corpus runner: `tests/eval/ok/*.nix` must print their `.out` (the bytes of
//! `nix-instantiate --eval --strict`), `tests/eval/err/*.nix` must fail with their `.diag`
//! (rendered without colour, fixed width, paths redacted). `UPDATE_EXPECT=1` rewrites the
//! expected files from kiln's output.
//!
//! With `KILN_SLOW_TESTS=1` the differential tests also run every case, and a stream of random
//! well-typed expressions, through `nix-instantiate` and compare.

#[path = "support/random_expr.rs"]
mod random_expr;

use kiln_eval::{EvalOptions, Evaluator, FsLoader, SearchPathEntry, Value};
use miette::{GraphicalReportHandler, GraphicalTheme};
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    kiln_testkit::workspace()
}

fn cases(kind: &str) -> Vec<PathBuf> {
    let dir = root().join("tests/eval").join(kind);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "nix"))
        .collect();
    files.sort();
    files
}

fn evaluator() -> Evaluator {
    evaluator_with(None)
}

fn evaluator_with(collect_cycles_every: Option<u64>) -> Evaluator {
    let search_path = vec![SearchPathEntry::parse(&format!(
        "corpus={}",
        root().join("tests/eval/ok/lib").display()
    ))];
    Evaluator::new(
        EvalOptions {
            search_path,
            current_time: 0,
            trace_to_stderr: false,
            collect_cycles_every,
            ..EvalOptions::default()
        },
        Box::new(FsLoader),
    )
}

/// Evaluates a file as `kiln eval --strict FILE`: the printed value, or the rendered error.
fn check(path: &Path) -> Result<String, String> {
    check_with(path, None)
}

fn check_with(path: &Path, collect_cycles_every: Option<u64>) -> Result<String, String> {
    let mut ev = evaluator_with(collect_cycles_every);
    let result = ev
        .import(&Value::path(path.to_string_lossy().into_owned()))
        .and_then(|v| ev.print(&v, true));
    result.map(|s| s + "\n").map_err(|err| {
        let report = err.report(ev.sources(), Some(kiln_eval::DEFAULT_TRACE_FRAMES));
        let mut out = String::new();
        GraphicalReportHandler::new_themed(GraphicalTheme::unicode_nocolor())
            // Wide enough that no line wraps: where a long path wraps would depend on where
            // the checkout lives.
            .with_width(1000)
            .render_report(&mut out, &report)
            .unwrap();
        redact(&out)
    })
}

/// The checkout's path as `$ROOT`, line ends trimmed.
fn redact(text: &str) -> String {
    kiln_testkit::redact(text)
        .lines()
        .map(str::trim_end)
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

fn expect(path: &Path, actual: &str, failures: &mut Vec<String>) {
    if let Err(difference) = kiln_testkit::expect(path, actual) {
        failures.push(difference);
    }
}

#[test]
fn ok_cases_print_their_out_files() {
    let mut failures = Vec::new();
    let cases = cases("ok");
    assert!(cases.len() > 20, "the ok corpus is missing");
    for case in &cases {
        match check(case) {
            Ok(out) => expect(&case.with_extension("out"), &redact(&out), &mut failures),
            Err(diag) => failures.push(format!("{}: failed:\n{diag}", case.display())),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases differ:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn err_cases_fail_with_their_diag_files() {
    let mut failures = Vec::new();
    let cases = cases("err");
    assert!(cases.len() > 10, "the err corpus is missing");
    for case in &cases {
        match check(case) {
            Ok(out) => failures.push(format!("{}: evaluated to {out}", case.display())),
            Err(diag) => expect(&case.with_extension("diag"), &diag, &mut failures),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases differ:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

/// The cycle collector may run at any point of an evaluation without changing what it prints
/// or how it fails: here it runs after every third recursive environment (`let`, `rec`, a
/// default argument), while the evaluation holds values on the Rust stack.
#[test]
fn collecting_cycles_during_evaluation_is_invisible() {
    let mut failures = Vec::new();
    let mut compared = 0;
    for case in cases("ok").into_iter().chain(cases("err")) {
        // The deep-recursion cases make a collection per level over a deep heap: slow, and they
        // exercise nothing the others do not.
        if case.to_string_lossy().contains("deep") {
            continue;
        }
        let plain = check(&case);
        let collected = check_with(&case, Some(3));
        compared += 1;
        if plain != collected {
            failures.push(format!(
                "{}:\nplain:     {plain:?}\ncollected: {collected:?}",
                case.display()
            ));
        }
    }
    assert!(compared > 100);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

// ----- differential tests against nix-instantiate -----

/// Whether the slow tests run (`kiln_testkit::slow`): they need nix-instantiate.
fn slow(test: &str) -> bool {
    kiln_testkit::slow(test, &["nix-instantiate"])
}

fn nix_eval(args: &[&str]) -> Result<String, String> {
    let out = Command::new("nix-instantiate")
        .args(["--eval", "--strict"])
        .args(args)
        .env(
            "NIX_PATH",
            format!("corpus={}", root().join("tests/eval/ok/lib").display()),
        )
        .env("NIX_STATE_DIR", std::env::temp_dir().join("kiln-nix-state"))
        .output()
        .expect("running nix-instantiate");
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

#[test]
fn differential_corpus_matches_nix() {
    if !slow("differential_corpus_matches_nix") {
        return;
    }
    let mut failures = Vec::new();
    for case in cases("ok") {
        let nix = nix_eval(&[case.to_str().unwrap()]);
        let kiln = check(&case);
        if nix != kiln {
            failures.push(format!(
                "{}:\nnix:  {nix:?}\nkiln: {kiln:?}",
                case.display()
            ));
        }
    }
    for case in cases("err") {
        // `kiln-only-*` cases are deliberate differences (see BUILTINS.md).
        if case
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with("kiln-only-"))
        {
            continue;
        }
        match nix_eval(&[case.to_str().unwrap()]) {
            Ok(out) => failures.push(format!("{}: nix evaluates it to {out}", case.display())),
            Err(stderr) => {
                // The first line is nix's wording (class 2 of issue 16), except where
                // `KNOWN_WORDING` says why it cannot be.
                let nix = stderr
                    .lines()
                    .find_map(|l| l.strip_prefix("error: "))
                    .unwrap_or_default()
                    .to_string();
                let ours = first_line(&case);
                let name = case.file_name().unwrap().to_string_lossy().into_owned();
                let known = KNOWN_WORDING
                    .iter()
                    .any(|(prefix, _)| name.starts_with(prefix));
                let prefix_ok = nix
                    .strip_prefix(ours.as_str())
                    .is_some_and(|rest| rest.starts_with(", expecting "));
                if nix != ours && !prefix_ok && !known {
                    failures.push(format!(
                        "{}: the first lines differ\n  nix:  {nix}\n  kiln: {ours}",
                        case.display()
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Error cases whose first line is not nix's, and why.
const KNOWN_WORDING: &[(&str, &str)] = &[(
    "json-from-toml-syntax",
    "toml11's messages; kiln parses TOML with the `toml` crate",
)];

/// Texts for `fromJSON` glued from fragments, most of them invalid: nix words their errors as
/// nlohmann/json does (`[json.exception.parse_error.101] parse error at line 1, column 4: ...;
/// last read: '...'`), and so must kiln. One nix process per text: `tryEval` does not catch
/// these errors.
#[test]
fn differential_from_json_errors_match_nix() {
    if !slow("differential_from_json_errors_match_nix") {
        return;
    }
    const FRAGMENTS: &[&str] = &[
        "1",
        "-",
        "-1",
        "0",
        "01",
        "1.",
        "1.5",
        "1e",
        "1e+",
        "1E5",
        "1e400",
        "-0",
        "true",
        "tru",
        "nul",
        "null",
        "false",
        "x",
        "\"a\"",
        "\"a",
        "\"\\u12\"",
        "\"\\ud800\"",
        "\"\\udc00\"",
        "\"\\q\"",
        "\"\t\"",
        "[",
        "]",
        "{",
        "}",
        ":",
        ",",
        " ",
        "\n",
        "\"k\":",
        "[]",
        "{}",
    ];
    let mut rng = random_expr::Rng::new(0x6a73_6f6e);
    let mut failures = Vec::new();
    for _ in 0..150 {
        let n = 1 + rng.below(6);
        let text: String = (0..n)
            .map(|_| FRAGMENTS[rng.below(FRAGMENTS.len() as u64) as usize])
            .collect();
        let mut literal = String::new();
        kiln_eval_literal(&mut literal, &text);
        let expr = format!("builtins.fromJSON {literal}");
        let first = |r: Result<String, String>| match r {
            Ok(out) => out,
            Err(err) => err
                .lines()
                .find_map(|l| l.strip_prefix("error: "))
                .unwrap_or(&err)
                .to_string(),
        };
        let nix = first(nix_eval(&["-E", &expr]));
        let kiln = first(kiln_eval_str(&expr).map_err(|e| format!("error: {e}")));
        if nix != kiln {
            failures.push(format!("{text:?}\n  nix:  {nix}\n  kiln: {kiln}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Every expression of `tests/eval/err-exprs.txt` fails in nix and in kiln, and the first line of
/// kiln's message is nix's (class 2 of issue 16), beyond the cases of `tests/eval/err`.
#[test]
fn differential_error_first_lines_match_nix() {
    if !slow("differential_error_first_lines_match_nix") {
        return;
    }
    let list = std::fs::read_to_string(root().join("tests/eval/err-exprs.txt")).unwrap();
    let mut failures = Vec::new();
    let mut compared = 0;
    for expr in list
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        let nix = match nix_eval(&["-E", expr]) {
            Ok(out) => format!("(evaluated to {out})"),
            Err(err) => err
                .lines()
                .find_map(|l| l.strip_prefix("error: "))
                .unwrap_or_default()
                .to_string(),
        };
        let kiln = match kiln_eval_str(expr) {
            Ok(out) => format!("(evaluated to {out})"),
            Err(err) => err.lines().next().unwrap_or_default().to_string(),
        };
        compared += 1;
        if nix != kiln {
            failures.push(format!("{expr}\n  nix:  {nix}\n  kiln: {kiln}"));
        }
    }
    assert!(compared > 50, "only {compared} expressions");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// `text` as a Nix string literal.
fn kiln_eval_literal(out: &mut String, text: &str) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '$' => out.push_str("\\$"),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// The first line of kiln's message for a failing case (what the plain report prints after
/// `error: `).
fn first_line(path: &Path) -> String {
    let mut ev = evaluator();
    match ev
        .import(&Value::path(path.to_string_lossy().into_owned()))
        .and_then(|v| ev.print(&v, true))
    {
        Ok(out) => format!("(evaluated to {out})"),
        Err(err) => err
            .to_string()
            .lines()
            .next()
            .unwrap_or_default()
            .to_string(),
    }
}

fn kiln_eval_str(expr: &str) -> Result<String, String> {
    let mut ev = evaluator();
    let file = ev
        .sources_mut()
        .add_virtual("«string»", Path::new("/"), expr);
    ev.eval_source(file)
        .and_then(|v| ev.print(&v, true))
        .map(|s| s + "\n")
        .map_err(|e| e.to_string())
}

/// How many random expressions the differential test compares (CI-sized by default).
fn random_count() -> usize {
    std::env::var("KILN_RANDOM_EXPRS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10_000)
}

#[test]
fn differential_random_expressions_match_nix() {
    if !slow("differential_random_expressions_match_nix") {
        return;
    }
    const BATCH: usize = 250;
    let mut rng = random_expr::Rng::new(0x5eed_2028);
    let total = random_count();
    let mut disagreements = Vec::new();
    let mut both_failed: Vec<String> = Vec::new();
    let mut compared = 0;
    while compared < total {
        let exprs: Vec<String> = (0..BATCH.min(total - compared))
            .map(|_| random_expr::expr(&mut rng))
            .collect();
        compared += exprs.len();
        let batch = format!(
            "[\n{}\n]",
            exprs
                .iter()
                .map(|e| format!("({e})"))
                .collect::<Vec<_>>()
                .join("\n")
        );
        let nix = nix_eval(&["-E", &batch]);
        let kiln = kiln_eval_str(&batch);
        if nix.is_ok() && nix == kiln {
            continue;
        }
        // Find the expressions that differ. Expressions that fail in both are a generator
        // bug (they are meant to evaluate); they are counted and must stay rare.
        for e in &exprs {
            let nix = nix_eval(&["-E", e]);
            let kiln = kiln_eval_str(e);
            match (&nix, &kiln) {
                (Ok(n), Ok(k)) if n == k => {}
                (Err(_), Err(_)) => both_failed.push(e.clone()),
                _ => disagreements.push(format!("{e}\n  nix:  {nix:?}\n  kiln: {kiln:?}")),
            }
        }
    }
    eprintln!(
        "compared {compared} random expressions with nix-instantiate; {} fail in both, e.g. {:?}",
        both_failed.len(),
        both_failed.first()
    );
    assert!(
        both_failed.len() * 100 <= compared,
        "{} generated expressions fail in both nix and kiln, e.g.:\n{}",
        both_failed.len(),
        both_failed
            .iter()
            .take(5)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert!(
        disagreements.is_empty(),
        "{} disagreements:\n{}",
        disagreements.len(),
        disagreements
            .iter()
            .take(20)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// Every corpus input with one character deleted (at ~15 positions) or cut short there must
/// evaluate to a value or an error, never a panic: a cheap, hermetic stand-in for the fuzz
/// target in `tests/fuzz/fuzz_targets/eval.rs`.
#[test]
fn mutated_corpus_inputs_never_panic() {
    let mut evaluated = 0;
    for case in cases("ok").into_iter().chain(cases("err")) {
        // The deep-recursion cases are slow to evaluate and add nothing here.
        if case.to_string_lossy().contains("deep") {
            continue;
        }
        let text = std::fs::read_to_string(&case).unwrap();
        let base = case.parent().unwrap().to_path_buf();
        // About 15 positions per file, evenly spread.
        let chars = text.chars().count();
        let step = (chars / 15).max(1);
        let boundaries: Vec<usize> = text.char_indices().map(|(i, _)| i).step_by(step).collect();
        // One evaluator per case (building the base environment dominates otherwise); the
        // step budget is shared by its mutants.
        let options = EvalOptions {
            trace_to_stderr: false,
            max_steps: 20_000 * 2 * boundaries.len() as u64,
            ..EvalOptions::default()
        };
        let mut ev = Evaluator::new(options, Box::new(FsLoader));
        let started = std::time::Instant::now();
        for &at in &boundaries {
            let next = text[at..].chars().next().map_or(at, |c| at + c.len_utf8());
            for mutated in [
                format!("{}{}", &text[..at], &text[next..]),
                text[..at].to_string(),
            ] {
                let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    let file = ev
                        .sources_mut()
                        .add_virtual("«mutant»", &base, mutated.as_str());
                    if let Ok(v) = ev.eval_source(file) {
                        let _ = ev.print(&v, true);
                    }
                }));
                assert!(
                    result.is_ok(),
                    "{} mutated at byte {at} panicked",
                    case.display()
                );
                evaluated += 1;
            }
        }
        if std::env::var_os("KILN_MUTANT_TIMES").is_some() {
            eprintln!("{:?} {}", started.elapsed(), case.display());
        }
    }
    assert!(evaluated > 1000, "only {evaluated} mutants");
}
