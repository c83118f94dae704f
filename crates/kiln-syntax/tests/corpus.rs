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

mod differential {
    //! kiln's output equals `nix-instantiate --parse` for every `.nix` file in the repository
    //! (`tests/`, `profiles/`, the Nix-language `lib` under `crates/`). `let` bindings and formals are compared as sets (Nix prints them in
    //! symbol-table address order). Where Nix fails, kiln must fail too.
    use super::repo_root;
    use std::path::{Path, PathBuf};

    pub(super) fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name();
            if path.is_dir() {
                if name != "target" && name != "fuzz" && name != ".git" {
                    collect(&path, out);
                }
            } else if path.extension().is_some_and(|ext| ext == "nix") {
                out.push(path);
            }
        }
    }

    fn kiln(path: &Path) -> Result<String, String> {
        let bytes = std::fs::read(path).map_err(|err| err.to_string())?;
        let text = kiln_syntax::decode_source(&path.display().to_string(), bytes)
            .map_err(|err| err.to_string())?;
        let mut sources = kiln_syntax::SourceMap::new();
        let file = sources.add_file(path, text);
        let expr = kiln_syntax::parse(&sources, file).map_err(|err| err.to_string())?;
        kiln_syntax::check_scopes(&sources, &expr).map_err(|err| err.to_string())?;
        Ok(kiln_syntax::print_expr(&expr))
    }

    #[test]
    fn kiln_parse_matches_nix_instantiate() {
        if !kiln_testkit::slow("kiln_parse_matches_nix_instantiate", &["nix-instantiate"]) {
            return;
        }
        let root = repo_root().canonicalize().expect("repository root");
        let mut files = Vec::new();
        collect(&root, &mut files);
        files.sort();
        assert!(
            files.iter().any(|f| f.starts_with(root.join("crates"))),
            "the Nix files under crates/ must be covered"
        );
        assert!(!files.is_empty(), "no .nix files found");
        let mut failures = Vec::new();
        for path in &files {
            let output = kiln_testkit::nix_instantiate()
                .arg("--parse")
                .arg(path)
                .output()
                .expect(
                    "KILN_SLOW_TESTS=1 needs nix-instantiate (Debian: apt-get install nix-bin)",
                );
            let nix = output.status.success().then(|| {
                String::from_utf8_lossy(&output.stdout)
                    .trim_end_matches('\n')
                    .to_string()
            });
            let ours = kiln(path);
            match (nix, ours) {
                (None, Err(ours)) => {
                    let nix = first_error_line(&String::from_utf8_lossy(&output.stderr));
                    let ours = ours.lines().next().unwrap_or_default().to_string();
                    let name = path.file_name().unwrap_or_default().to_string_lossy();
                    if !same_first_line(&nix, &ours)
                        && !KNOWN_WORDING.iter().any(|(n, _)| *n == name)
                    {
                        failures.push(format!(
                            "{}: the first lines differ\n  nix:  {nix}\n  kiln: {ours}",
                            path.display()
                        ));
                    }
                }
                (Some(nix), Ok(ours)) if normalize_lets(&nix) == normalize_lets(&ours) => {}
                (nix, ours) => failures.push(format!(
                    "{}:\n  nix:  {nix:?}\n  kiln: {ours:?}",
                    path.display()
                )),
            }
        }
        assert!(
            failures.is_empty(),
            "{} of {} files differ:\n{}",
            failures.len(),
            files.len(),
            failures.join("\n")
        );
        eprintln!("{} files agree with nix-instantiate --parse", files.len());
    }

    /// Failing files whose first line cannot be nix's, and why.
    const KNOWN_WORDING: &[(&str, &str)] = &[(
        "missing-colon-formals.nix",
        "`{ a, b }` at the end of the file: the PEG gives up at `a`, where neither a lambda nor a set fits, and Bison reads on to the end",
    )];

    /// nix's message without `error: `: its first line.
    pub(super) fn first_error_line(stderr: &str) -> String {
        stderr
            .lines()
            .find_map(|line| line.strip_prefix("error: "))
            .unwrap_or_default()
            .to_string()
    }

    /// kiln's first line is nix's, or nix's up to the Bison's list of what it expected (`,
    /// expecting ';'`), which comes from parser tables a PEG parser does not have.
    pub(super) fn same_first_line(nix: &str, ours: &str) -> bool {
        nix == ours
            || nix
                .strip_prefix(ours)
                .is_some_and(|rest| rest.starts_with(", expecting "))
    }

    /// Sorts the bindings of every `(let ...; in` in printed output.
    pub(super) fn normalize_lets(printed: &str) -> String {
        let bytes = printed.as_bytes();
        let mut out = String::with_capacity(printed.len());
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'"' {
                let end = string_end(bytes, i);
                out.push_str(&printed[i..end]);
                i = end;
            } else if let Some((formals, end)) = formals_at(printed, i) {
                out.push_str(&formals);
                i = end;
            } else if printed[i..].starts_with("(let ") {
                out.push_str("(let ");
                i += 5;
                let mut bindings = Vec::new();
                while !printed[i..].starts_with("in ") {
                    let end = binding_end(bytes, i);
                    bindings.push(normalize_lets(&printed[i..end]));
                    i = end;
                    if i >= bytes.len() {
                        break;
                    }
                }
                bindings.sort();
                out.push_str(&bindings.concat());
            } else {
                let c = printed[i..].chars().next().expect("in bounds");
                out.push(c);
                i += c.len_utf8();
            }
        }
        out
    }

    /// At `({ a, b ? d, ... }: ` or `... } @ x: `: the formals sorted (Nix prints them in
    /// symbol-table order too) and the offset after the closing `}`.
    fn formals_at(printed: &str, start: usize) -> Option<(String, usize)> {
        if !printed[start..].starts_with("({ ") {
            return None;
        }
        let bytes = printed.as_bytes();
        let open = start + 1;
        let close = matching_close(bytes, open)?;
        let after = &printed[close + 1..];
        if !(after.starts_with(": ") || after.starts_with(" @ ")) {
            return None;
        }
        let inner = printed[open + 1..close].trim();
        let mut entries: Vec<String> = split_top(inner)
            .into_iter()
            .map(|entry| normalize_lets(entry.trim()))
            .collect();
        entries.sort_by_key(|entry| (entry == "...", entry.clone()));
        Some((format!("({{ {} }}", entries.join(", ")), close + 1))
    }

    fn matching_close(bytes: &[u8], open: usize) -> Option<usize> {
        let mut depth = 0usize;
        let mut i = open;
        while i < bytes.len() {
            match bytes[i] {
                b'"' => {
                    i = string_end(bytes, i);
                    continue;
                }
                b'(' | b'[' | b'{' => depth += 1,
                b')' | b']' | b'}' => {
                    depth -= 1;
                    if depth == 0 {
                        return Some(i);
                    }
                }
                _ => {}
            }
            i += 1;
        }
        None
    }

    /// Splits at `, ` outside brackets and strings.
    fn split_top(text: &str) -> Vec<&str> {
        let bytes = text.as_bytes();
        let mut parts = Vec::new();
        let (mut depth, mut last, mut i) = (0usize, 0usize, 0usize);
        while i < bytes.len() {
            match bytes[i] {
                b'"' => {
                    i = string_end(bytes, i);
                    continue;
                }
                b'(' | b'[' | b'{' => depth += 1,
                b')' | b']' | b'}' => depth = depth.saturating_sub(1),
                b',' if depth == 0 => {
                    parts.push(&text[last..i]);
                    last = i + 1;
                }
                _ => {}
            }
            i += 1;
        }
        if last < text.len() {
            parts.push(&text[last..]);
        }
        parts
    }

    fn string_end(bytes: &[u8], start: usize) -> usize {
        let mut i = start + 1;
        while i < bytes.len() {
            match bytes[i] {
                b'\\' => i += 2,
                b'"' => return i + 1,
                _ => i += 1,
            }
        }
        bytes.len()
    }

    /// The end of one `name = value; ` binding (after the `; `), skipping nested brackets.
    fn binding_end(bytes: &[u8], start: usize) -> usize {
        let mut depth = 0usize;
        let mut i = start;
        while i < bytes.len() {
            match bytes[i] {
                b'"' => {
                    i = string_end(bytes, i);
                    continue;
                }
                b'(' | b'[' | b'{' => depth += 1,
                b')' | b']' | b'}' => depth = depth.saturating_sub(1),
                b';' if depth == 0 => return (i + 2).min(bytes.len()),
                _ => {}
            }
            i += 1;
        }
        bytes.len()
    }

    #[test]
    fn normalize_sorts_formals() {
        assert_eq!(
            normalize_lets("(x: ({ zeta, alpha ? { b = 1; c = 2; }, x, ... } @ y: x))"),
            "(x: ({ alpha ? { b = 1; c = 2; }, x, zeta, ... } @ y: x))"
        );
        assert_eq!(normalize_lets("({  }: 1)"), "({  }: 1)");
    }

    #[test]
    fn normalize_sorts_let_bindings_only() {
        assert_eq!(
            normalize_lets("(let b = { y = 1; x = 2; }; a = \"(let \"; in { b = 1; a = 2; })"),
            "(let a = \"(let \"; b = { y = 1; x = 2; }; in { b = 1; a = 2; })"
        );
    }
}

mod fast_parser {
    //! The invariant of `fast.rs`: where the fast parser accepts, pest accepts with an identical
    //! AST (spans included); where it rejects, pest rejects too (so the fallback only ever
    //! reports errors). ASTs are compared through their `Debug` form, which shows every field.
    use super::{corpus, differential::collect, options, repo_root, roundtrip};
    use kiln_syntax::__private::{parse_fast, parse_pest};
    use kiln_syntax::SourceMap;
    use proptest::prelude::*;
    use std::path::Path;

    /// `Err` describes a disagreement; `Ok(accepted)` says whether both accepted.
    fn agree(name: &str, text: &str) -> Result<bool, String> {
        if text.contains('\0') {
            return Ok(false);
        }
        let mut sources = SourceMap::new();
        let file = sources.add_virtual(name, Path::new("/kiln/tests/syntax"), text);
        let fast = parse_fast(&sources, file, &options());
        let pest = parse_pest(&sources, file, &options());
        match (fast, pest) {
            (None, Err(_)) => Ok(false),
            (Some(fast), Ok(pest)) => {
                if format!("{fast:?}") == format!("{pest:?}") {
                    return Ok(true);
                }
                let (fast, pest) = (format!("{fast:#?}"), format!("{pest:#?}"));
                let line = fast
                    .lines()
                    .zip(pest.lines())
                    .position(|(a, b)| a != b)
                    .unwrap_or(0);
                let show = |s: &str| {
                    s.lines()
                        .skip(line.saturating_sub(8))
                        .take(16)
                        .collect::<Vec<_>>()
                        .join("\n")
                };
                Err(format!(
                    "{name}: ASTs differ at line {line}\n--- fast\n{}\n--- pest\n{}",
                    show(&fast),
                    show(&pest)
                ))
            }
            (Some(_), Err(err)) => Err(format!("{name}: fast accepts, pest rejects: {err}")),
            (None, Ok(_)) => Err(format!("{name}: fast rejects, pest accepts")),
        }
    }

    /// Checks every case; returns how many both parsers accepted.
    fn check_all(cases: impl IntoIterator<Item = (String, String)>) -> usize {
        let mut failures = Vec::new();
        let mut accepted = 0;
        for (name, text) in cases {
            match agree(&name, &text) {
                Ok(true) => accepted += 1,
                Ok(false) => {}
                Err(msg) => failures.push(msg),
            }
        }
        assert!(
            failures.is_empty(),
            "{} disagreements:\n{}",
            failures.len(),
            failures.join("\n\n")
        );
        accepted
    }

    fn read(path: &Path) -> (String, String) {
        let text = std::fs::read_to_string(path).expect("corpus file is UTF-8");
        (path.display().to_string(), text)
    }

    #[test]
    fn syntax_corpus_agrees() {
        let ok: Vec<_> = corpus("ok").iter().map(|p| read(p)).collect();
        let n_ok = ok.len();
        assert_eq!(check_all(ok), n_ok, "every ok case is accepted by both");
        check_all(corpus("err").iter().map(|p| read(p)));
    }

    #[test]
    fn repository_nix_files_agree() {
        let mut files = Vec::new();
        collect(&repo_root(), &mut files);
        files.sort();
        assert!(files.len() > 20, "the repository's .nix files went missing");
        check_all(files.iter().map(|p| read(p)));
    }

    #[test]
    fn nesting_limits_agree() {
        let mut cases = Vec::new();
        for (open, close) in [
            ("(", ")"),
            ("[ ", " ]"),
            ("{ a = ", "; }"),
            ("x: ", ""),
            ("!", ""),
            ("-", ""),
            ("1 ++ ", ""),
            ("let a = 1; in ", ""),
            ("\"${", "}\""),
            ("a.${", "}"),
            ("{ a ? ", " }: a"),
            ("f (", ")"),
            ("(1 + ", ")"),
        ] {
            for n in [9_997, 9_998, 9_999, 10_000, 10_001] {
                let text = format!("{}1{}", open.repeat(n), close.repeat(n));
                cases.push((format!("{open:?} x {n}"), text));
            }
        }
        for n in [9_998, 9_999, 10_000, 10_001] {
            cases.push((format!("sum {n}"), format!("{}1", "1 + ".repeat(n))));
            cases.push((format!("has {n}"), format!("a{}", " ? b".repeat(n))));
        }
        // Formatting and dropping ASTs 10 000 levels deep needs more than a test thread's stack.
        std::thread::Builder::new()
            .stack_size(1 << 30)
            .spawn(|| check_all(cases))
            .expect("thread")
            .join()
            .expect("no disagreement");
    }

    /// Inputs that probe the token decisions of the PEG (paths, URIs, keywords, numbers).
    #[test]
    fn token_edge_cases_agree() {
        let cases = [
            "a/b",
            "a//b",
            "a /b",
            "a/ b",
            "1/2",
            "1 / 2",
            "x:x",
            "x: x",
            "x :x",
            "a-b",
            "a - b",
            "a -b",
            "-1",
            "- 1",
            "--1",
            "-/a",
            "./a",
            "../a",
            "~/a",
            "~/a/",
            "./a/",
            "/",
            "/a",
            "./a/${b}",
            "./a/${b}/c",
            "./a/${b}c/",
            "./${b}",
            "~/${b}",
            "a/${b}",
            ".5",
            "0.5",
            "01.5",
            "1.",
            "1.5e3",
            "1.5e",
            "1e5",
            "1.e5",
            "a.b",
            "a . b",
            "a.b.c or d",
            "a.b or",
            "f or",
            "f or x",
            r#"a."b""#,
            "a.${b}",
            "a.or",
            "{ or = 1; }",
            "{ a.or = 1; }",
            "let or = 1; in or",
            "<nixpkgs>",
            "<a/b>",
            "a <b> c",
            "a < b",
            "a<b",
            "a<=b",
            "a->b",
            "a->b->c",
            "a==b",
            "a==b==c",
            "a<b<c",
            "a//b//c",
            "a++b",
            "a+ +b",
            "a++/b",
            "a+/b",
            "!a",
            "!!a",
            "!a==b",
            "a?b",
            "a ? b.c",
            r#"a ? "b""#,
            "a ? ${b}",
            "a?b?c",
            "-a?b",
            "f x y",
            "(f x) y",
            "f (x y)",
            r#""a""#,
            r#""""#,
            r#""$""#,
            r#""$$""#,
            r#""$${a}""#,
            r#""\${a}""#,
            r#""${a}""#,
            r#""a${b}c""#,
            r#""\n\t\r\q""#,
            "\"\r\n\"",
            "''''",
            "''a''",
            "''\n  a\n  b\n''",
            "''''$''",
            "'''''''",
            "''''\\n''",
            "''$''",
            "''a$''",
            "''a'b''",
            "''${a}''",
            "''\n  ${a}\n''",
            "''  \n''",
            "'''$a''",
            "{ }",
            "{}",
            "{ }: 1",
            "{}@a: 1",
            "a@{}: 1",
            "a @ { }: 1",
            "{ a, b ? 1, ... }: a",
            "{ a, }: a",
            "{ ... }: 1",
            "{ a }: a",
            "{ a, a }: a",
            "a@{ a }: a",
            "rec { }",
            "rec { a = 1; b = a; }",
            "let { body = 1; }",
            "let { a = 1; body = a; }",
            "f let { body = 1; }",
            "let a = 1; in a",
            "let inherit a; in a",
            "{ inherit a; }",
            "{ inherit (a) b c; }",
            r#"{ inherit (a) "b"; }"#,
            "{ inherit ${a}; }",
            "{ inherit or; }",
            "{ a.b = 1; a.c = 2; }",
            "{ a = 1; a = 2; }",
            "{ a = {}; a.b = 1; }",
            "{ ${a} = 1; }",
            r#"{ "a" = 1; }"#,
            r#"{ "${a}" = 1; }"#,
            "let ${a} = 1; in 1",
            "assert a; b",
            "with a; b",
            "if a then b else c",
            "ifx",
            "if/a",
            "assert/a",
            "rec/a",
            "http://a.b/c",
            "a:b",
            "a: b",
            "__curPos",
            "[ __curPos ]",
            "[ a b (c) ]",
            "[]",
            "[ -1 ]",
            "[ - 1 ]",
            "a # c\n",
            "a /* c */",
            "/* c */ a",
            "a/* c */",
            "x: x # c",
            "(x: x )",
            "f x ",
            "{ a = b.c ; }",
            "{ a = b.c or d ; }",
            "123456789012345678901",
            "1.0e400",
            "1.0e-310",
            "a.b.c",
            r#"a."b c".d"#,
            "x.0",
            "a'.b",
            "a'b'",
            "_a",
            "_a/b",
            "a_b:c",
            "a+b:c",
            "a.b/c",
            "inherit",
            "{ inherits = 1; }",
            "{ or.x = 1; }",
            "\"\\",
            "''",
            "\"${",
            "a.",
            "a.b or or",
            "f -x",
            "f - x",
            "a.b.${c}.d",
            r#"a.b."c""#,
            "{ a = x: x; }",
            "x: y: z",
            "x@{}: 1",
            "\t1\r\n",
            "\"é\\é\"",
            "''é''$é''",
            "a.b or c d",
            "f a.b or c",
            "{ a = 1; } // { b = 2; }",
            "a == b",
            "a != b",
            "(a) ? b",
            "a -> b || c && d",
            "[ (a) ]",
            "a ++ b ++ c",
            "a - b - c",
            "a * b / c",
        ];
        check_all(cases.iter().map(|c| (format!("{c:?}"), (*c).to_string())));
    }

    /// 512 cases per property; `KILN_FAST_CASES=N` for a longer run.
    fn cases() -> u32 {
        std::env::var("KILN_FAST_CASES")
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(512)
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

        #[test]
        fn generated_expressions_agree(body in roundtrip::expr()) {
            let text = format!("with {{ }}; {body}");
            prop_assert_eq!(agree("gen", &text), Ok(true));
        }

        /// Token soup: mostly rejected by both, but what pest accepts is often odd.
        #[test]
        fn token_sequences_agree(tokens in prop::collection::vec(prop::sample::select(vec![
            "a", "b", "or", "or", ".", ".", "${", "}", "\"", "''", "'", "/", "./a", "~/a", "x:",
            "x:y", ":", "@", "{", "}", "(", ")", "[", "]", ";", "=", "?", ",", "...", "let", "in",
            "inherit", "rec", "if", "then", "else", "assert", "with", "-", "!", "+", "++", "<",
            "<a>", ">", "==", "->", "//", "*", "1", "1.5", ".5", "e3", " ", " ", " ", "\n", "#c\n",
            "/*c*/", "$", "\\", "a/", "${a}", "__curPos", "_", "a-b", "'a",
        ]), 1..24)) {
            let text = tokens.concat();
            let res = agree("soup", &text);
            prop_assert!(res.is_ok(), "{}\n{text:?}", res.unwrap_err());
        }

        #[test]
        fn mutated_corpus_files_agree(
            pick in any::<prop::sample::Index>(),
            edits in prop::collection::vec(
                (
                    any::<prop::sample::Index>(),
                    0u8..3,
                    prop::sample::select(b" \n\t\"'${}[]()<>;:.,=?@!-+*/\\#~abin0129".to_vec()),
                ),
                1..4,
            ),
        ) {
            let mut files = corpus("ok");
            collect(&repo_root().join("crates"), &mut files);
            collect(&repo_root().join("profiles"), &mut files);
            let path = &files[pick.index(files.len())];
            let mut bytes = std::fs::read(path).expect("corpus file");
            for (at, op, byte) in edits {
                let at = at.index(bytes.len() + 1);
                match op {
                    0 if at < bytes.len() => {
                        bytes.remove(at);
                    }
                    1 if at < bytes.len() => bytes[at] = byte,
                    _ => bytes.insert(at, byte),
                }
            }
            if let Ok(text) = String::from_utf8(bytes) {
                let res = agree("mutated", &text);
                prop_assert!(res.is_ok(), "{}\n{text}", res.unwrap_err());
            }
        }
    }
}
