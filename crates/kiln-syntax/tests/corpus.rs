//! The kiln-syntax test runner (one binary for the crate, STYLE §4):
//!
//! - `tests/syntax/ok/*.nix`: parse + scope check must succeed; `.out` holds the printed form.
//! - `tests/syntax/err/*.nix`: must fail; `.diag` holds the rendered diagnostic (no colour).
//! - Generated bad inputs (NUL bytes, invalid UTF-8, 100 MB, 100 000 parentheses) that are too
//!   big or too odd to commit.
//! - A property test: print → parse → print is stable.
//! - The differential test against `nix-instantiate --parse` (only with `KILN_SLOW_TESTS=1`).
//! - The two parsers agree: the fast parser accepts only what pest accepts, with the same AST
//!   (corpus, every `.nix` in the repository, generated and mutated inputs, deep nestings).
//!
//! `UPDATE_EXPECT=1 cargo test -p kiln-syntax --test corpus` regenerates the expected files.

use kiln_syntax::{ParseOptions, SourceMap, SyntaxError, SyntaxErrorKind};
use std::path::{Path, PathBuf};

/// Where corpus files pretend to live, so printed paths do not depend on the checkout.
const VIRTUAL_DIR: &str = "/kiln/tests/syntax";
const HOME: &str = "/home/kiln";

fn repo_root() -> PathBuf {
    kiln_testkit::workspace()
}

fn options() -> ParseOptions {
    ParseOptions {
        home: Some(HOME.into()),
    }
}

/// Parses and scope-checks `text` as `kiln parse` does, returning the printed form.
fn check(name: &str, dir: &str, text: &str) -> Result<String, (SourceMap, SyntaxError)> {
    let mut sources = SourceMap::new();
    let file = sources.add_virtual(name, Path::new(dir), text);
    let res = kiln_syntax::parse_with(&sources, file, &options()).and_then(|expr| {
        kiln_syntax::check_scopes(&sources, &expr).map(|()| kiln_syntax::print_expr(&expr))
    });
    res.map_err(|err| (sources, err))
}

fn render(err: &SyntaxError) -> String {
    let mut out = String::new();
    let handler =
        miette::GraphicalReportHandler::new_themed(miette::GraphicalTheme::unicode_nocolor())
            .with_width(100);
    handler
        .render_report(&mut out, err)
        .expect("rendering to a String cannot fail");
    out.lines()
        .map(str::trim_end)
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

fn corpus(kind: &str) -> Vec<PathBuf> {
    let dir = repo_root().join("tests/syntax").join(kind);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|err| panic!("reading {}: {err}", dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "nix"))
        .collect();
    files.sort();
    files
}

/// Compares `actual` with the expected file, or rewrites it under `UPDATE_EXPECT=1`.
fn expect_file(path: &Path, actual: &str, failures: &mut Vec<String>) {
    if let Err(difference) = kiln_testkit::expect(path, actual) {
        failures.push(difference);
    }
}

#[test]
fn ok_corpus() {
    let mut failures = Vec::new();
    let files = corpus("ok");
    assert!(files.len() > 50, "the ok corpus went missing");
    for path in files {
        let text = std::fs::read_to_string(&path).expect("corpus file is UTF-8");
        let name = format!(
            "ok/{}",
            path.file_name().expect("file name").to_string_lossy()
        );
        match check(&name, &format!("{VIRTUAL_DIR}/ok"), &text) {
            Ok(printed) => expect_file(
                &path.with_extension("out"),
                &(printed + "\n"),
                &mut failures,
            ),
            Err((_, err)) => failures.push(format!(
                "{}: unexpected error\n{}",
                path.display(),
                render(&err)
            )),
        }
    }
    assert!(
        failures.is_empty(),
        "{} ok cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn err_corpus() {
    let mut failures = Vec::new();
    let files = corpus("err");
    assert!(files.len() > 30, "the err corpus went missing");
    for path in files {
        let text = std::fs::read_to_string(&path).expect("corpus file is UTF-8");
        let name = format!(
            "err/{}",
            path.file_name().expect("file name").to_string_lossy()
        );
        match check(&name, &format!("{VIRTUAL_DIR}/err"), &text) {
            Ok(printed) => failures.push(format!(
                "{}: parsed, but must fail: {printed}",
                path.display()
            )),
            Err((_, err)) => {
                let span = err.span();
                assert!(
                    text.is_char_boundary(span.start as usize)
                        && text.is_char_boundary(span.end as usize)
                );
                expect_file(&path.with_extension("diag"), &render(&err), &mut failures);
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} err cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

fn error_kind(text: &str) -> SyntaxErrorKind {
    match check("generated", "/", text) {
        Ok(printed) => panic!("expected an error, got {printed}"),
        Err((_, err)) => {
            let _ = render(&err);
            err.kind()
        }
    }
}

#[test]
fn nul_byte_is_a_diagnostic() {
    assert_eq!(error_kind("\"a\0b\""), SyntaxErrorKind::NulByte);
    assert_eq!(error_kind("1 \0 2"), SyntaxErrorKind::NulByte);
}

#[test]
fn invalid_utf8_reports_the_byte_offset() {
    let err = kiln_syntax::decode_source("bad.nix", b"{ a = \"\xff\"; }".to_vec())
        .expect_err("not UTF-8");
    assert_eq!(err.kind(), SyntaxErrorKind::InvalidUtf8);
    assert_eq!(err.span().start, 7);
    assert!(render(&err).contains("byte offset 7"));
}

#[test]
fn hundred_thousand_parentheses_are_too_deep() {
    let text = format!("{}1{}", "(".repeat(100_000), ")".repeat(100_000));
    assert_eq!(error_kind(&text), SyntaxErrorKind::NestingTooDeep);
}

#[test]
fn other_deep_nestings_are_too_deep_not_a_crash() {
    for (open, close) in [
        ("[ ", " ]"),
        ("{ a = ", "; }"),
        ("x: ", ""),
        ("!", ""),
        ("1 ++ ", ""),
    ] {
        let text = format!("{}1{}", open.repeat(100_000), close.repeat(100_000));
        let kind = match check("deep", "/", &text) {
            Ok(_) => panic!("{open:?} nested 100 000 times must not parse"),
            Err((_, err)) => err.kind(),
        };
        assert!(
            matches!(
                kind,
                SyntaxErrorKind::NestingTooDeep | SyntaxErrorKind::UndefinedVariable
            ),
            "{open:?}: {kind:?}"
        );
    }
}

#[test]
fn nested_formal_defaults_do_not_backtrack_exponentially() {
    // Found by the fuzzer: each level once parsed its last formal twice (2^n work).
    let valid = format!("{}1{}", "{ a ? ".repeat(60), " }: a".repeat(60));
    assert!(check("formals", "/", &valid).is_ok());
    let invalid = format!("{}1{}", "{a?".repeat(60), "}".repeat(60));
    assert!(check("formals", "/", &invalid).is_err());
}

#[test]
fn failed_interpolations_in_indented_strings_do_not_backtrack() {
    // Found by the fuzzer: `${` in an indented string fell back to literal text when the
    // interpolation failed (flex never does that), re-parsing the rest in 2^n ways.
    let text = "[ ''a ${ ".repeat(40);
    assert!(check("ind", "/", &text).is_err());
}

#[test]
fn accepted_nesting_matches_nix_range() {
    // Nix accepts 5 000 nested parentheses; so must kiln.
    let text = format!("{}1{}", "(".repeat(5_000), ")".repeat(5_000));
    assert_eq!(
        check("nested", "/", &text).map_err(|(_, err)| err.kind()),
        Ok("1".to_string())
    );
}

#[test]
fn hundred_megabyte_input_is_a_diagnostic() {
    // A stray `}` followed by 100 MB of bindings: the whole text is scanned, the error found.
    // The fast parser rejects it early and pest, the slow path, reports the error.
    let mut text = String::with_capacity((100 << 20) + 64);
    text.push_str("{ a = 1; } }\n");
    while text.len() < 100 << 20 {
        text.push_str("  x = \"abcdefghij\";\n");
    }
    assert_eq!(error_kind(&text), SyntaxErrorKind::Unexpected);
}

#[test]
fn hundred_megabyte_valid_input_parses() {
    // 100 MB of distinct bindings, accepted by the fast parser (pest alone took about a minute).
    let mut text = String::with_capacity((100 << 20) + 64);
    text.push_str("{\n");
    let mut idx = 0u64;
    while text.len() < 100 << 20 {
        text.push_str(&format!("  x{idx} = \"abcdefghij\" + ./a/b;\n"));
        idx += 1;
    }
    text.push_str("}\n");
    let mut sources = SourceMap::new();
    let file = sources.add_virtual("big", Path::new("/"), text.as_str());
    let started = std::time::Instant::now();
    let expr = kiln_syntax::parse_with(&sources, file, &options()).expect("valid input");
    let took = started.elapsed();
    let kiln_syntax::ast::ExprKind::Attrs(attrs) = &expr.kind else {
        panic!("not an attribute set");
    };
    assert_eq!(attrs.attrs.len() as u64, idx);
    eprintln!("100 MB valid input parsed in {took:?}");
}

#[test]
fn escapes_nix_does_not_know_are_the_character_itself() {
    assert_eq!(
        check("esc", "/", r#""\q\{""#).map_err(|(_, err)| err.kind()),
        Ok(r#""q{""#.to_string())
    );
}

mod roundtrip {
    //! print → parse → print is stable. Inputs are generated Nix source built from the
    //! constructs whose printed form Nix can read back: not floats like `1e+06` (Nix's lexer
    //! splits its own output), not `assert` as a call argument, and not strings with more than
    //! one interpolation (`"a${v}b"` prints as `("a" + v + "b")`, which reads back as `+`).
    use super::check;
    use proptest::prelude::*;

    pub(super) fn leaf() -> impl Strategy<Value = String> {
        prop_oneof![
            (0i64..1000).prop_map(|n| n.to_string()),
            "[a-z]{1,3}".prop_map(|s| format!("v{s}")),
            "[ -~]{0,6}".prop_map(|s| format!("{s:?}").replace('$', "\\$")),
            Just("./a/b".to_string()),
            Just("<nixpkgs>".to_string()),
            Just("null".to_string()),
            Just("''\n  x\n   y\n''".to_string()),
            Just("\"a${v}\"".to_string()),
        ]
    }

    pub(super) fn expr() -> impl Strategy<Value = String> {
        leaf().prop_recursive(4, 32, 4, |inner| {
            let ops = prop_oneof![
                Just("+"),
                Just("-"),
                Just("*"),
                Just("/"),
                Just("++"),
                Just("//"),
                Just("=="),
                Just("!="),
                Just("<"),
                Just("<="),
                Just(">"),
                Just(">="),
                Just("&&"),
                Just("||"),
                Just("->")
            ];
            prop_oneof![
                (inner.clone(), ops, inner.clone())
                    .prop_map(|(a, op, b)| format!("({a} {op} {b})")),
                (inner.clone(), inner.clone()).prop_map(|(f, x)| format!("({f} ({x}))")),
                prop::collection::vec(inner.clone(), 0..3).prop_map(|xs| format!(
                    "[ {} ]",
                    xs.iter()
                        .map(|x| format!("({x})"))
                        .collect::<Vec<_>>()
                        .join(" ")
                )),
                (inner.clone(), inner.clone())
                    .prop_map(|(a, b)| format!("{{ a = {a}; b.c = {b}; \"d e\" = 1; }}")),
                (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a}).x.y or ({b})")),
                inner
                    .clone()
                    .prop_map(|a| format!("(x: {{ y ? {a}, ... }}@z: x)")),
                (inner.clone(), inner.clone(), inner.clone())
                    .prop_map(|(a, b, c)| format!("(if {a} then {b} else {c})")),
                (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("(let q = {a}; in {b})")),
                inner.clone().prop_map(|a| format!("(! {a})")),
                inner.clone().prop_map(|a| format!("(-{a})")),
                inner.clone().prop_map(|a| format!("(({a}) ? x.y)")),
            ]
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]
        #[test]
        fn print_parse_print_is_stable(body in expr()) {
            let text = format!("with {{ }}; {body}");
            let first = check("gen", "/r", &text).map_err(|(_, err)| format!("{err}: {text}"));
            let first = match first { Ok(first) => first, Err(msg) => return Err(TestCaseError::fail(msg)) };
            let second = check("printed", "/r", &first).map_err(|(_, err)| format!("{err}: {first}"));
            prop_assert_eq!(second, Ok(first));
        }
    }
}

// The differential test against nix and the two-parser invariant, each in a file of its own.
#[path = "corpus/differential.rs"]
mod differential;
#[path = "corpus/fast_parser.rs"]
mod fast_parser;
