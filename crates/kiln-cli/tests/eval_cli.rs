//! `kiln eval` end to end: flags (`--strict`, `--json`, `-A`, `--arg`, `--argstr`, `-E`), the
//! non-strict printer and auto-calling. Each case states the exact stdout of
//! `nix-instantiate --eval` 2.8 with the same arguments; with `KILN_SLOW_TESTS=1` the test
//! also runs nix-instantiate and checks that it still prints that.

use std::path::PathBuf;
use std::process::Command;

const FUNCTION_FILE: &str =
    "{ a, b ? 2, c ? \"x\" }: { sum = a + b; inherit c; nested = { list = [ a b ]; f = x: x; }; }\n";

/// (arguments, stdout). `FILE` stands for a file holding `FUNCTION_FILE`.
const CASES: &[(&[&str], &str)] = &[
    (
        &["--strict", "FILE", "--arg", "a", "1"],
        "{ c = \"x\"; nested = { f = <LAMBDA>; list = [ 1 2 ]; }; sum = 3; }\n",
    ),
    (
        &["FILE", "--arg", "a", "1"],
        "{ c = \"x\"; nested = <CODE>; sum = <CODE>; }\n",
    ),
    (
        &["--strict", "FILE", "--arg", "a", "1", "--argstr", "c", "hi"],
        "{ c = \"hi\"; nested = { f = <LAMBDA>; list = [ 1 2 ]; }; sum = 3; }\n",
    ),
    (
        &["--strict", "FILE", "--arg", "a", "1", "-A", "nested.list"],
        "[ 1 2 ]\n",
    ),
    (
        &["--strict", "FILE", "--arg", "a", "1", "-A", "nested.list.1"],
        "2\n",
    ),
    (
        &[
            "--json",
            "--strict",
            "FILE",
            "--arg",
            "a",
            "1",
            "-A",
            "nested.list",
        ],
        "[1,2]",
    ),
    (
        &[
            "--json",
            "--strict",
            "-E",
            "{ a = 1; b = [ true null 1.5 \"x\\ny\" ]; c = { outPath = \"/p\"; }; }",
        ],
        "{\"a\":1,\"b\":[true,null,1.5,\"x\\ny\"],\"c\":\"/p\"}",
    ),
    (&["-E", "x: x"], "<LAMBDA>\n"),
    (&["-E", "{ x }: x", "--arg", "x", "3"], "3\n"),
    (
        &["-E", "{ x, ... }: x", "--arg", "x", "3", "--arg", "y", "4"],
        "3\n",
    ),
    (
        &["-E", "let x = 1; in { a = x; b = [ x ]; c = x + 1; }"],
        "{ a = 1; b = <CODE>; c = <CODE>; }\n",
    ),
    (&["-E", "map (x: x) [ 1 ]"], "[ <CODE> ]\n"),
    (
        &["-E", "builtins.tryEval (throw \"x\")"],
        "{ success = false; value = false; }\n",
    ),
    (&["-E", "rec { a = 1; b = a; }"], "{ a = 1; b = 1; }\n"),
    (&["-E", "rec { b = a; a = 1; }"], "{ a = 1; b = <CODE>; }\n"),
    (
        &["-E", "let a = 1; b = a; in { inherit a b; }"],
        "{ a = 1; b = 1; }\n",
    ),
    (
        &["--strict", "-E", "let x = { a = 1; }; in [ x x ]"],
        "[ { a = 1; } «repeated» ]\n",
    ),
];

fn run(program: &str, args: &[&str], file: &str) -> (String, bool) {
    let args: Vec<&str> = args
        .iter()
        .map(|a| if *a == "FILE" { file } else { a })
        .collect();
    let mut cmd = Command::new(program);
    if program.ends_with("kiln") {
        cmd.arg("eval");
    } else {
        // As in kiln-eval's differential tests: a private state directory, so the oracle
        // needs nothing from the machine's /nix.
        cmd.arg("--eval")
            .env("NIX_STATE_DIR", std::env::temp_dir().join("kiln-nix-state"));
    }
    let out = cmd.args(&args).output().expect("running the evaluator");
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        out.status.success(),
    )
}

fn function_file() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("kiln-eval-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("function.nix");
    std::fs::write(&file, FUNCTION_FILE).unwrap();
    file
}

#[test]
fn eval_flags_print_what_nix_prints() {
    let file = function_file();
    let file = file.to_str().unwrap();
    let kiln = env!("CARGO_BIN_EXE_kiln");
    let mut failures = Vec::new();
    for (args, expected) in CASES {
        let (out, ok) = run(kiln, args, file);
        if !ok || out != *expected {
            failures.push(format!(
                "kiln eval {args:?}: {out:?}, expected {expected:?}"
            ));
        }
    }
    if kiln_testkit::slow("kiln eval against nix-instantiate", &["nix-instantiate"]) {
        for (args, expected) in CASES {
            let (out, _) = run("nix-instantiate", args, file);
            if out != *expected {
                failures.push(format!(
                    "nix-instantiate --eval {args:?}: {out:?}, expected {expected:?}"
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn errors_exit_1_with_a_diagnostic() {
    let out = Command::new(env!("CARGO_BIN_EXE_kiln"))
        .args(["eval", "-E", "{ foo = 1; }.fo"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("kiln::eval::missing_attr"), "{stderr}");
    assert!(stderr.contains("foo"), "suggestion missing: {stderr}");
}

fn kiln(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_kiln"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn errors_are_plain_when_stderr_is_not_a_terminal() {
    let out = kiln(&["eval", "-E", "throw \"first line\\nsecond line\""]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with("error: first line\n       second line\n       at «string»:1:1\n       code: kiln::eval::throw\n"),
        "{stderr}"
    );
    assert!(!stderr.contains('│'), "no gutter: {stderr}");
}

#[test]
fn log_format_rich_keeps_the_miette_report() {
    let out = kiln(&["--log-format", "rich", "eval", "-E", "{ }.x"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    // miette draws with Unicode or ASCII depending on the environment; either way it is the
    // report with a snippet, not the plain form.
    assert!(
        !stderr.starts_with("error: ")
            && stderr.contains("attribute 'x' missing")
            && stderr.contains("[«string»:1:1]"),
        "rich report expected: {stderr}"
    );
}

#[test]
fn a_span_past_column_65535_is_reported_not_a_panic() {
    let dir = std::env::temp_dir().join(format!("kiln-eval-cli-wide-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("wide.nix");
    std::fs::write(&file, format!("{})\n", " ".repeat(70_000))).unwrap();
    for format in ["rich", "raw"] {
        let out = kiln(&["--log-format", format, "parse", file.to_str().unwrap()]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{format}: {stderr}");
        assert!(!stderr.contains("panicked"), "{format}: {stderr}");
        assert!(stderr.contains(":1:70001"), "{format}: {stderr}");
    }
}

#[test]
fn nix_instantiate_flags_are_accepted() {
    let out = kiln(&[
        "eval",
        "--timeout",
        "1",
        "-E",
        "--strict",
        "{ a = [ (1 + 1) ]; }",
        "--read-write-mode",
        "--eval-only",
        "--show-trace",
        "-A",
        "a",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "[ 2 ]\n");
    let out = kiln(&["eval", "-E", "{ a = { }; }", "-A", "a.b"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with("error: attribute 'b' in selection path 'a.b' not found\n"),
        "{stderr}"
    );
}

#[test]
fn fetch_git_without_git_says_what_is_missing() {
    let empty = std::env::temp_dir().join(format!("kiln-eval-cli-no-git-{}", std::process::id()));
    std::fs::create_dir_all(&empty).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_kiln"))
        .args(["eval", "--store"])
        .arg(empty.join("store"))
        .args(["-E", "builtins.fetchGit /tmp"])
        // A PATH with no `git` on it.
        .env("PATH", &empty)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.starts_with("error: `fetchGit` needs the `git` program, and there is none on PATH")
            && stderr.contains("kiln::driver::git_missing"),
        "{stderr}"
    );
}
