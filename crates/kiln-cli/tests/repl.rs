//! `kiln repl` driven through a pseudo-terminal, as a person would use it: bindings, multi-line
//! input, `:p`, `:t`, `:doc`, `:explain` on the macbook profile, tab completion, an error
//! followed by a good expression, Ctrl-C during a long evaluation, Ctrl-D, and the history file.
//!
//! These need no external tool (rexpect opens the pty itself) and take a few seconds, so they
//! always run.

use rexpect::reader::Options;
use rexpect::session::{spawn_with_options, PtySession};
use std::path::PathBuf;
use std::process::Command;

const PROMPT: &str = "kiln-repl> ";
const MACBOOK: &str = "profiles/installer/cd-dvd/installation-cd-graphical-gnome-macbook.nix";

use kiln_testkit::workspace as repo_root;

/// Starts `kiln repl ARGS` in a pty. The output is matched raw: rustyline's escape sequences
/// (bracketed paste, synchronized output) sit between the prompt and the echo, and our own
/// output is plain under `NO_COLOR`. Expected texts are chosen so the echo of the typed line
/// cannot match them., with its history under `data_home`.
fn spawn(args: &[&str], data_home: &std::path::Path) -> PtySession {
    let mut command = Command::new(env!("CARGO_BIN_EXE_kiln"));
    command
        .arg("repl")
        .args(args)
        .current_dir(repo_root())
        .env("XDG_DATA_HOME", data_home)
        .env("KILN_STORE", data_home.join("store"))
        .env("NO_COLOR", "1")
        .env("TERM", "xterm");
    let options = Options::new()
        .timeout_ms(Some(30_000))
        .strip_ansi_escape_codes(false);
    let mut repl = spawn_with_options(command, options).expect("cannot start kiln repl in a pty");
    repl.exp_string(PROMPT).expect("no first prompt");
    repl
}

/// Types `text` and Enter (a carriage return, as a terminal sends it).
fn type_line(repl: &mut PtySession, text: &str) {
    repl.send(text).expect("cannot type");
    repl.send("\r").expect("cannot type");
    repl.flush().expect("cannot flush");
}

/// Types `line` and Enter, then waits for `expected` and the next prompt.
fn line(repl: &mut PtySession, line: &str, expected: &str) {
    type_line(repl, line);
    repl.exp_string(expected)
        .unwrap_or_else(|err| panic!("`{line}` did not print `{expected}`: {err}"));
    repl.exp_string(PROMPT)
        .unwrap_or_else(|err| panic!("no prompt after `{line}`: {err}"));
}

fn data_home(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("kiln-repl-pty-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("cannot make a temporary directory");
    dir
}

#[test]
fn a_session_on_the_macbook_profile() {
    let home = data_home("profile");
    let mut repl = spawn(&[MACBOOK], &home);

    // Bindings, and a plain expression printed one level deep.
    line(&mut repl, "x = 1 + 2", "");
    line(&mut repl, "x * 14", "42");
    line(
        &mut repl,
        "{ a = x; b = { c = 1; }; }",
        "{ a = 3; b = { ... }; }",
    );

    // Multi-line input: the continuation prompt, then the whole expression.
    type_line(&mut repl, "{ p = 1;");
    repl.exp_string("       ... ")
        .expect("no continuation prompt");
    line(&mut repl, "  q = 2; }", "{ p = 1; q = 2; }");

    line(
        &mut repl,
        ":p { a = { b = [ x ]; }; }",
        "{ a = { b = [ 3 ]; }; }",
    );
    line(&mut repl, ":t x", "an integer");
    line(
        &mut repl,
        ":doc builtins.map",
        "Synopsis: builtins.map f list",
    );
    line(&mut repl, ":doc boot.kernelModules", "Type: list of string");
    line(
        &mut repl,
        ":explain boot.kernelModules",
        "why: 2 definitions at plain (100)",
    );
    line(
        &mut repl,
        ":p config.boot.kernelModules",
        "[ \"kvm-intel\" \"wl\" \"loop\" \"atkbd\" ]",
    );

    // Completion: a unique candidate is inserted; a list shows each option's type.
    repl.send("config.boot.init\t").expect("cannot type");
    repl.flush().expect("cannot flush");
    repl.exp_string("config.boot.initrd")
        .expect("`config.boot.init<TAB>` did not complete");
    repl.send(".\t\t").expect("cannot type");
    repl.flush().expect("cannot flush");
    repl.exp_string("kernelModules (list of string)")
        .expect("no option type in the candidates");
    repl.send_control('u').expect("cannot clear the line");

    // An error is reported in place and the session goes on.
    line(
        &mut repl,
        "undefinedThing",
        "undefined variable 'undefinedThing'",
    );
    line(&mut repl, "40 + 2", "42");

    // Ctrl-C interrupts a long evaluation and the prompt comes back.
    let long = "builtins.foldl' (a: b: a + b) 0 (builtins.genList (x: x) 1000000000)";
    type_line(&mut repl, long);
    std::thread::sleep(std::time::Duration::from_millis(700));
    repl.send_control('c').expect("cannot send Ctrl-C");
    repl.exp_string("interrupted")
        .expect("Ctrl-C did not interrupt");
    repl.exp_string(PROMPT).expect("no prompt after Ctrl-C");
    line(&mut repl, "100 + 23", "123");

    // Ctrl-D exits; the history was kept in the data directory.
    repl.send_control('d').expect("cannot send Ctrl-D");
    repl.exp_eof().expect("Ctrl-D did not exit");
    let history = std::fs::read_to_string(home.join("kiln/repl-history")).unwrap_or_default();
    assert!(history.contains("x = 1 + 2"), "history: {history}");
    let _ = std::fs::remove_dir_all(&home);
}

#[test]
fn quit_and_build_without_a_profile() {
    let home = data_home("plain");
    let mut repl = spawn(&[], &home);
    line(
        &mut repl,
        ":b derivation { name = \"empty-root\"; builder = \"package-tree\"; packages = [ ]; }",
        "-empty-root",
    );
    line(
        &mut repl,
        ":explain boot.kernelModules",
        "no profile is loaded",
    );
    type_line(&mut repl, ":q");
    repl.exp_eof().expect(":q did not exit");
    let _ = std::fs::remove_dir_all(&home);
}
