//! Unit tests of the session: inputs in, printed text out, through [`Session::execute`] and
//! [`Session::complete`] as the terminal loop calls them.

use super::{Flow, Session, SessionOptions};
use std::sync::atomic::Ordering;

use kiln_testkit::workspace as repo_root;

fn session() -> Session {
    Session::new(SessionOptions::default(), repo_root()).unwrap()
}

/// Runs `input`; its output, or the code of its error.
fn run(session: &mut Session, input: &str) -> Result<String, String> {
    let mut out = String::new();
    match session.execute(input, &mut out) {
        Ok(_) => Ok(out),
        Err(report) => Err(report
            .code()
            .map(|c| c.to_string())
            .unwrap_or_else(|| report.to_string())),
    }
}

const MACBOOK: &str = "profiles/installer/cd-dvd/installation-cd-graphical-gnome-macbook.nix";

fn profile_session() -> Session {
    let mut session = session();
    let mut out = String::new();
    session
        .load(MACBOOK, &mut out)
        .unwrap_or_else(|report| panic!("{report:?}"));
    assert!(
        out.contains("config, lib, options, pkgs are in scope"),
        "{out}"
    );
    session
}

#[test]
fn bindings_are_lazy_and_usable() {
    let mut s = session();
    assert_eq!(run(&mut s, "x = 1 + 2"), Ok(String::new()));
    assert_eq!(run(&mut s, "x"), Ok("3\n".to_string()));
    assert_eq!(run(&mut s, "y = x * 2"), Ok(String::new()));
    assert_eq!(run(&mut s, "x = 10"), Ok(String::new()));
    assert_eq!(run(&mut s, "y"), Ok("6\n".to_string()));
    // Binding a failing expression succeeds; using it reports the error.
    assert_eq!(run(&mut s, "z = throw \"no\""), Ok(String::new()));
    // An undefined variable is reported at once, and the name stays unbound.
    assert_eq!(
        run(&mut s, "w = x + nope"),
        Err("kiln::eval::undefined_var".to_string())
    );
    assert_eq!(
        run(&mut s, "w"),
        Err("kiln::eval::undefined_var".to_string())
    );
    assert_eq!(run(&mut s, "z"), Err("kiln::eval::throw".to_string()));
}

#[test]
fn plain_expressions_print_one_level_deep() {
    let mut s = session();
    let out = run(
        &mut s,
        "{ a = 1 + 1; b = { c = 1; }; l = [ 1 ]; s = \"x\"; n = null; \"a b\" = 1.5; }",
    );
    assert_eq!(
        out,
        Ok(
            "{ a = 2; \"a b\" = 1.5; b = { ... }; l = [ ... ]; n = null; s = \"x\"; }\n"
                .to_string()
        )
    );
    assert_eq!(
        run(&mut s, "[ 1 (2 + 3) [ 4 ] ]"),
        Ok("[ 1 5 [ ... ] ]\n".to_string())
    );
    assert_eq!(
        run(&mut s, "{ f = map; g = map (x: x); }"),
        Ok("{ f = «primop»; g = «primop-app»; }\n".to_string())
    );
    assert_eq!(
        run(&mut s, "x: x"),
        Ok("«lambda @ (string):1:1»\n".to_string())
    );
    assert_eq!(
        run(&mut s, "{ a = throw \"boom\"; b = 1; }"),
        Ok("{ a = «error: boom»; b = 1; }\n".to_string())
    );
    assert_eq!(
        run(&mut s, "[ (1 + \"a\") 2 ]"),
        Ok("[ «error: cannot add a string to an integer» 2 ]\n".to_string())
    );
    assert_eq!(
        run(&mut s, "let a = { x = 1; }; in [ a a ]"),
        Ok("[ { ... } «repeated» ]\n".to_string())
    );
}

#[test]
fn print_and_type() {
    let mut s = session();
    assert_eq!(
        run(&mut s, ":p { a = { b = [ (1 + 1) ]; }; }"),
        Ok("{ a = { b = [ 2 ]; }; }\n".to_string())
    );
    assert_eq!(run(&mut s, ":t 1"), Ok("an integer\n".to_string()));
    assert_eq!(run(&mut s, ":t { }"), Ok("a set\n".to_string()));
    assert_eq!(
        run(&mut s, ":t map"),
        Ok("the built-in function 'map'\n".to_string())
    );
    assert_eq!(
        run(&mut s, ":t builtins.attrNames"),
        Ok("the built-in function 'attrNames'\n".to_string())
    );
    assert_eq!(run(&mut s, ":t x: x"), Ok("a function\n".to_string()));
}

#[test]
fn an_error_does_not_end_the_session() {
    let mut s = session();
    assert_eq!(
        run(&mut s, "1 +"),
        Err("kiln::syntax::unexpected_end".to_string())
    );
    assert_eq!(
        run(&mut s, "undefined_name"),
        Err("kiln::eval::undefined_var".to_string())
    );
    assert_eq!(
        run(&mut s, "{ }.a"),
        Err("kiln::eval::missing_attr".to_string())
    );
    assert_eq!(
        run(&mut s, ":frob"),
        Err("kiln::repl::unknown_command".to_string())
    );
    assert_eq!(
        run(&mut s, ":p"),
        Err("kiln::repl::missing_argument".to_string())
    );
    assert_eq!(run(&mut s, "1 + 1"), Ok("2\n".to_string()));
}

#[test]
fn quit_and_help() {
    let mut s = session();
    let mut out = String::new();
    assert!(matches!(s.execute(":q", &mut out), Ok(Flow::Quit)));
    let help = run(&mut s, ":?").unwrap_or_default();
    for command in [
        ":p <expr>",
        ":doc <name>",
        ":explain <option>",
        ":b <expr>",
        ":l <path>",
    ] {
        assert!(help.contains(command), "{help}");
    }
}

#[test]
fn add_load_and_reload() {
    let mut s = session();
    assert_eq!(
        run(&mut s, ":a { p = 1; q = 2; }"),
        Ok("Added 2 variables.\n".to_string())
    );
    assert_eq!(run(&mut s, "p + q"), Ok("3\n".to_string()));
    assert_eq!(
        run(&mut s, ":a 1"),
        Err("kiln::eval::type_error".to_string())
    );

    let dir = std::env::temp_dir().join(format!("kiln-repl-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap_or_default();
    let file = dir.join("vars.nix");
    std::fs::write(&file, "{ greeting ? \"hi\" }: { inherit greeting; n = 1; }")
        .unwrap_or_default();
    let load = format!(":l {}", file.display());
    assert_eq!(run(&mut s, &load), Ok("Added 2 variables.\n".to_string()));
    assert_eq!(run(&mut s, "greeting"), Ok("\"hi\"\n".to_string()));
    assert_eq!(run(&mut s, "bound = 5"), Ok(String::new()));
    std::fs::write(&file, "{ n = 2; }").unwrap_or_default();
    // `:r` reads the file again and, as in nix repl, drops the bindings made at the prompt.
    assert_eq!(run(&mut s, ":r"), Ok("Added 1 variables.\n".to_string()));
    assert_eq!(run(&mut s, "n"), Ok("2\n".to_string()));
    assert_eq!(
        run(&mut s, "bound"),
        Err("kiln::eval::undefined_var".to_string())
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn build_realises_a_derivation_in_the_store() {
    let store = kiln_testkit::tempdir().unwrap();
    let options = SessionOptions {
        store: Some(store.path().to_path_buf()),
        ..SessionOptions::default()
    };
    let mut s = Session::new(options, repo_root()).unwrap();
    let drv =
        ":b derivation { name = \"empty-root\"; builder = \"package-tree\"; packages = [ ]; }";
    let out = run(&mut s, drv).unwrap();
    let path = out
        .lines()
        .find_map(|l| l.trim().strip_prefix("out -> "))
        .unwrap_or_else(|| panic!("no output path in {out}"));
    assert!(path.ends_with("-empty-root"), "{out}");
    assert!(std::path::Path::new(path).join("usr/bin").is_dir(), "{out}");
    assert_eq!(
        run(&mut s, ":b 1"),
        Err("kiln::repl::not_a_derivation".to_string())
    );
}

#[test]
fn doc_of_builtins_and_lib_functions() {
    let mut s = session();
    let map = run(&mut s, ":doc builtins.map").unwrap_or_default();
    assert!(map.starts_with("Synopsis: builtins.map f list\n"), "{map}");
    let doc = run(&mut s, ":doc map").unwrap_or_default();
    assert_eq!(doc, map);
    assert_eq!(run(&mut s, "lib = import <kiln/lib>"), Ok(String::new()));
    let fix = run(&mut s, ":doc lib.fix").unwrap_or_default();
    assert!(fix.contains("The least fixed point of `f`"), "{fix}");
    let pipe = run(&mut s, ":doc lib.pipe").unwrap_or_default();
    assert!(
        pipe.starts_with("`lib.pipe` is `builtins.foldl'` with 1 of its 3 arguments given.\n"),
        "{pipe}"
    );
    assert_eq!(run(&mut s, ":doc 1"), Err("kiln::repl::no_doc".to_string()));
}

#[test]
fn interrupt_returns_to_the_prompt() {
    let mut s = session();
    let flag = s.interrupt_flag();
    let setter = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(300));
        flag.store(true, Ordering::Relaxed);
    });
    let long = "builtins.foldl' (a: b: a + b) 0 (builtins.genList (x: x) 1000000000)";
    assert_eq!(
        run(&mut s, long),
        Err("kiln::repl::interrupted".to_string())
    );
    let _ = setter.join();
    assert_eq!(run(&mut s, "1 + 2"), Ok("3\n".to_string()));
}

#[test]
fn completion_of_names_and_commands() {
    let mut s = session();
    assert_eq!(run(&mut s, "fooBar = 1"), Ok(String::new()));
    let (start, found) = s.complete("1 + fooB", 8);
    assert_eq!(start, 4);
    assert_eq!(
        found
            .iter()
            .map(|c| c.replacement.as_str())
            .collect::<Vec<_>>(),
        ["fooBar"]
    );
    let (_, found) = s.complete("builtins.attrN", 14);
    assert_eq!(
        found
            .iter()
            .map(|c| c.replacement.as_str())
            .collect::<Vec<_>>(),
        ["attrNames"]
    );
    let (start, found) = s.complete(":ex", 3);
    assert_eq!(
        (
            start,
            found
                .iter()
                .map(|c| c.replacement.as_str())
                .collect::<Vec<_>>()
        ),
        (0, vec![":explain"])
    );
    let (_, found) = s.complete("{ \"a b\" = 1; }.x", 16);
    assert!(found.is_empty());
}

#[test]
fn profile_scope_explain_doc_and_completion() {
    let mut s = profile_session();
    assert_eq!(run(&mut s, ":t config"), Ok("a set\n".to_string()));
    assert_eq!(
        run(&mut s, ":p config.boot.kernelModules"),
        Ok("[ \"kvm-intel\" \"wl\" \"loop\" \"atkbd\" ]\n".to_string())
    );
    // The same text as `kiln explain`.
    let explain = run(&mut s, ":explain boot.kernelModules").unwrap_or_else(|e| e);
    assert!(
        explain.starts_with("boot.kernelModules\n  type: list of string\n"),
        "{explain}"
    );
    assert!(
        explain.contains("* ")
            && explain.contains("installation-cd-graphical-gnome-macbook.nix:8  [plain (100)]"),
        "{explain}"
    );
    assert!(explain.contains("[default (1500), lost]"), "{explain}");
    assert_eq!(
        run(&mut s, ":explain config.boot.kernelModules"),
        Ok(explain)
    );
    assert_eq!(
        run(&mut s, ":explain boot.nope"),
        Err("kiln::eval::missing_attr".to_string())
    );

    let doc = run(&mut s, ":doc boot.kernelModules").unwrap_or_else(|e| e);
    assert!(doc.contains("Type: list of string"), "{doc}");
    assert!(
        doc.contains("Kernel modules loaded in the second stage"),
        "{doc}"
    );

    let (start, found) = s.complete("config.boot.init", 16);
    assert_eq!(start, 12);
    assert_eq!(
        found
            .iter()
            .map(|c| c.replacement.as_str())
            .collect::<Vec<_>>(),
        ["initrd"]
    );
    let (_, found) = s.complete("config.boot.initrd.", 19);
    let displays: Vec<&str> = found.iter().map(|c| c.display.as_str()).collect();
    assert!(
        displays.contains(&"kernelModules (list of string)"),
        "{displays:?}"
    );
    let (_, found) = s.complete("lib.mkI", 7);
    assert!(found.iter().any(|c| c.replacement == "mkIf"), "{found:?}");
}
