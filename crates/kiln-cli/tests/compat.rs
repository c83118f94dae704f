//! `tests/compat/`: the shell suites written for `nix-instantiate` (`modules/modules.sh`, in the
//! style of nixpkgs' `lib/tests/modules.sh`, and `eval/eval.sh`, its command-line conventions)
//! pass against nix 2.8 and, through the `nix-instantiate` wrapper that `tests/compat/run.sh`
//! creates, against kiln.
//!
//! A slow test: it runs with `KILN_SLOW_TESTS=1`. A missing tool (bash, GNU grep with `-P`,
//! nix-instantiate) then fails the test in CI (`CI` set) and skips it elsewhere, saying why.

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Whether the test should run: `None` to run, or the reason it skips.
fn skip_reason() -> Option<String> {
    if std::env::var("KILN_SLOW_TESTS").as_deref() != Ok("1") {
        return Some("set KILN_SLOW_TESTS=1 to run the nix-instantiate suites".into());
    }
    let checks: [(&str, &[&str]); 3] = [
        ("bash", &["-c", "true"]),
        ("grep", &["-zP", "x", "/dev/null"]),
        ("nix-instantiate", &["--version"]),
    ];
    for (tool, args) in checks {
        // `grep` exits 1 when nothing matches; only a failure to start (or exit 2, a grep without
        // `-P`) means the tool is missing.
        let works = Command::new(tool).args(args).output().is_ok_and(|o| {
            o.status
                .code()
                .is_some_and(|c| c == 0 || (tool == "grep" && c == 1))
        });
        if !works {
            let reason = format!("`{tool}` is missing or too old (the suites need bash, GNU grep with -P and nix-instantiate)");
            assert!(std::env::var_os("CI").is_none(), "{reason}");
            return Some(reason);
        }
    }
    None
}

/// Runs `tests/compat/run.sh ARGS`; (success, stdout and stderr).
fn run_suite(args: &[&str]) -> (bool, String) {
    let out = Command::new("bash")
        .arg(root().join("tests/compat/run.sh"))
        .args(args)
        .env("NIX_STATE_DIR", std::env::temp_dir().join("kiln-nix-state"))
        .output()
        .expect("running tests/compat/run.sh");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// The suite passes under nix and under kiln, with the same number of checks.
fn suite_passes_under_nix_and_kiln(suite: &str) {
    if let Some(reason) = skip_reason() {
        eprintln!("skipped: {reason}");
        return;
    }
    let suite = root().join("tests/compat").join(suite);
    let suite = suite.to_str().unwrap();
    let (nix_ok, nix_out) = run_suite(&["--nix", suite]);
    assert!(nix_ok, "the suite fails under nix-instantiate:\n{nix_out}");
    let (kiln_ok, kiln_out) = run_suite(&["--kiln", env!("CARGO_BIN_EXE_kiln"), suite]);
    assert!(kiln_ok, "the suite fails under kiln:\n{kiln_out}");
    // Both ran the same number of checks.
    let passes = |out: &str| {
        out.lines()
            .find(|l| l.ends_with(" Pass"))
            .map(str::to_string)
    };
    assert_eq!(passes(&nix_out), passes(&kiln_out), "{nix_out}\n{kiln_out}");
    eprintln!(
        "{suite}: {} under nix and kiln",
        passes(&kiln_out).unwrap_or_default()
    );
}

#[test]
fn modules_suite_passes_under_nix_and_kiln() {
    suite_passes_under_nix_and_kiln("modules/modules.sh");
}

#[test]
fn eval_suite_passes_under_nix_and_kiln() {
    suite_passes_under_nix_and_kiln("eval/eval.sh");
}
