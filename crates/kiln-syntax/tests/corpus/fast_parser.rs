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
