//! `tests/compat/`: the shell suites written for `nix-instantiate` (`modules/modules.sh`, in the
//! style of nixpkgs' `lib/tests/modules.sh`; `eval/eval.sh`, its command-line conventions;
//! `store/store.sh`, the store builtins, string context and `fetchGit`) pass against nix 2.8
//! and, through the `nix-instantiate` wrapper that `tests/compat/run.sh` creates, against kiln.
//!
//! A slow test: it runs with `KILN_SLOW_TESTS=1`. A missing tool (bash, GNU grep with `-P`,
//! nix-instantiate, and git and a `/nix/store` nix may write for the store suite) then fails
//! the test in CI (`CI` set) and skips it elsewhere, saying why.

use std::process::Command;

use kiln_testkit::workspace as root;

/// Whether the test should run: `None` to run, or the reason it skips. The switch is
/// `kiln_testkit::slow`; GNU grep must also know `-P`, which `slow` cannot tell.
fn skip_reason(extra_tools: &[&str]) -> Option<String> {
    let mut tools = vec!["bash", "grep", "nix-instantiate"];
    tools.extend_from_slice(extra_tools);
    if !kiln_testkit::slow("the nix-instantiate suites", &tools) {
        return Some("see the line above".into());
    }
    // `grep` exits 1 when nothing matches; exit 2 is a grep without `-P`.
    let grep_p = Command::new("grep")
        .args(["-zP", "x", "/dev/null"])
        .output()
        .is_ok_and(|o| matches!(o.status.code(), Some(0 | 1)));
    if !grep_p {
        let reason = "GNU grep lacks -P, which the suites use".to_string();
        assert!(std::env::var_os("CI").is_none(), "{reason}");
        return Some(reason);
    }
    None
}

/// Runs `tests/compat/run.sh ARGS`; (success, stdout and stderr).
fn run_suite(args: &[&str]) -> (bool, String) {
    let out = Command::new("bash")
        .arg(root().join("tests/compat/run.sh"))
        .args(args)
        .env("NIX_STATE_DIR", kiln_testkit::nix_state_dir())
        .env("NIX_CONFIG", kiln_testkit::NIX_CONFIG)
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
fn suite_passes_under_nix_and_kiln(suite: &str, extra_tools: &[&str]) {
    if let Some(reason) = skip_reason(extra_tools) {
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
    suite_passes_under_nix_and_kiln("modules/modules.sh", &[]);
}

#[test]
fn eval_suite_passes_under_nix_and_kiln() {
    suite_passes_under_nix_and_kiln("eval/eval.sh", &[]);
}

#[test]
fn store_suite_passes_under_nix_and_kiln() {
    // nix 2.8 writes what the suite adds to the store into `/nix/store` itself (a chroot store
    // does not serve `readFile` of its paths): root may create it, another user only if the
    // machine's nix lets it write there.
    let writable = kiln_testkit::is_root() || tempfile::tempfile_in("/nix/store").is_ok();
    if !writable {
        let reason = "nix-instantiate cannot write /nix/store as this user (the store suite adds files to it); run as root";
        assert!(std::env::var_os("CI").is_none(), "{reason}");
        eprintln!("skipped: {reason}");
        return;
    }
    suite_passes_under_nix_and_kiln("store/store.sh", &["git"]);
}
