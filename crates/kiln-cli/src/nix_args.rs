//! nix-instantiate's argument conventions for `kiln eval`, so that scripts written for
//! `nix-instantiate --eval` run unchanged against kiln (through the wrapper that
//! `tests/compat/run.sh` creates, or an alias).
//!
//! nix-instantiate's `-E`/`--expr` is a *switch*: "the positional arguments are expressions, not
//! files", and the expression may come anywhere on the line (nixpkgs' `modules.sh` runs
//! `nix-instantiate --timeout 1 -E "$script" -A "$attr" --eval-only --show-trace
//! --read-write-mode --json`). kiln's clap definition keeps `-E EXPR` taking a value, which
//! means the same for every line that puts the expression right after `-E`; [`translate`] moves
//! the first positional argument behind `-E` for the lines that do not. It also spells
//! `--eval-only` as `--eval`. The switches that change nothing for evaluation (`--eval`,
//! `--read-write-mode`, `--timeout N`) are declared in `cmd_eval::Args`, so `--help` lists them.
//!
//! Design decision: rewriting argv before clap, rather than making `-E` a boolean in
//! `cmd_eval::Args`, leaves the evaluation code as it is; the rewrite is only a reordering.

use std::ffi::OsString;

/// Options of `kiln eval` that take values, and how many.
const VALUED: &[(&str, usize)] = &[
    ("-A", 1),
    ("--attr", 1),
    ("-I", 1),
    ("--include", 1),
    ("--arg", 2),
    ("--argstr", 2),
    ("--timeout", 1),
    ("--log-format", 1),
];

/// Rewrites `kiln eval` arguments written in nix-instantiate's conventions; other commands'
/// arguments are returned as they are.
pub(crate) fn translate(args: Vec<OsString>) -> Vec<OsString> {
    // Only `kiln [global options] eval ...` is rewritten.
    let mut at = 1;
    while at < args.len() {
        match args[at].to_string_lossy() {
            a if a == "--log-format" => at += 2,
            a if a.starts_with('-') => at += 1,
            _ => break,
        }
    }
    if args.get(at).is_none_or(|a| a != "eval") {
        return args;
    }
    let eval_at = at;
    let (head, rest) = args.split_at(eval_at + 1);
    let mut out: Vec<OsString> = head.to_vec();
    let mut expr_switch = false;
    let mut positional: Option<OsString> = None;
    let mut kept: Vec<OsString> = Vec::new();
    let mut iter = rest.iter().cloned();
    while let Some(arg) = iter.next() {
        let text = arg.to_string_lossy().into_owned();
        if text == "--" {
            kept.push(arg);
            kept.extend(iter.by_ref());
            break;
        }
        if text == "-E" || text == "--expr" {
            expr_switch = true;
            continue;
        }
        if text == "--eval-only" {
            kept.push("--eval".into());
            continue;
        }
        if let Some((_, n)) = VALUED.iter().find(|(name, _)| *name == text) {
            kept.push(arg);
            kept.extend(iter.by_ref().take(*n));
            continue;
        }
        if expr_switch && positional.is_none() && !text.starts_with('-') {
            positional = Some(arg);
            continue;
        }
        kept.push(arg);
    }
    match (expr_switch, positional) {
        (true, Some(expr)) => {
            out.push("-E".into());
            out.push(expr);
        }
        // `-E` with nothing after it: let clap report the missing value.
        (true, None) => out.push("-E".into()),
        (false, _) => {}
    }
    out.extend(kept);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(args: &[&str]) -> Vec<String> {
        translate(args.iter().map(OsString::from).collect())
            .into_iter()
            .map(|a| a.into_string().unwrap())
            .collect()
    }

    #[test]
    fn expression_after_other_flags_moves_behind_e() {
        assert_eq!(
            t(&[
                "kiln",
                "eval",
                "--timeout",
                "1",
                "-E",
                "--strict",
                "1 + 1",
                "-A",
                "x",
                "--json"
            ]),
            [
                "kiln",
                "eval",
                "-E",
                "1 + 1",
                "--timeout",
                "1",
                "--strict",
                "-A",
                "x",
                "--json"
            ]
        );
    }

    #[test]
    fn kiln_style_lines_keep_their_meaning() {
        assert_eq!(
            t(&["kiln", "eval", "-E", "x: x"]),
            ["kiln", "eval", "-E", "x: x"]
        );
        assert_eq!(
            t(&["kiln", "eval", "FILE", "--arg", "a", "1"]),
            ["kiln", "eval", "FILE", "--arg", "a", "1"]
        );
        assert_eq!(
            t(&["kiln", "eval", "--arg", "a", "-E", "-E", "x"]),
            ["kiln", "eval", "-E", "x", "--arg", "a", "-E"]
        );
        assert_eq!(t(&["kiln", "parse", "-E"]), ["kiln", "parse", "-E"]);
    }

    #[test]
    fn eval_only_is_eval() {
        assert_eq!(
            t(&[
                "kiln",
                "--log-format",
                "raw",
                "eval",
                "--eval-only",
                "f.nix"
            ]),
            ["kiln", "--log-format", "raw", "eval", "--eval", "f.nix"]
        );
    }
}
