//! Unit tests of the evaluator whose expected outputs are nix-instantiate 2.8's.

use crate::{EvalOptions, Evaluator, FsLoader};

/// `nix-instantiate --eval` without `--strict`: unevaluated thunks print as `<CODE>`.
fn eval_lazy(source: &str) -> String {
    let mut ev = Evaluator::new(EvalOptions::default(), Box::new(FsLoader));
    let file = ev
        .sources_mut()
        .add_virtual("«string»", std::path::Path::new("/"), source);
    let value = ev.eval_source(file).unwrap();
    ev.print(&value, false).unwrap()
}

/// An argument is computed before the call only when the lambda forces it first, so a
/// thunk is never seen where Nix would show one. Expected outputs are nix-instantiate 2.8's.
#[test]
fn eager_arguments_are_invisible() {
    let cases = [
        ("(x: [ x ]) (2 - 1)", "[ <CODE> ]"),
        ("let n = 3; in (x: [ x ]) (n - 1)", "[ <CODE> ]"),
        ("let n = 3; in (x: [ (x + 1) ]) (n * 2)", "[ <CODE> ]"),
        (
            "let n = 3; in (x: if x < 0 then [ ] else [ x ]) (n - 1)",
            "[ 2 ]",
        ),
        (
            "let n = 3; in (x: let y = x; in if y < 0 then [ ] else [ x y ]) (n - 1)",
            "[ 2 2 ]",
        ),
        (
            "let n = 3; in (x: if x then [ x ] else [ ]) (n < 4)",
            "[ true ]",
        ),
        (
            "let n = 7; in (x: [ (x + 0) x ]) (n / 2)",
            "[ <CODE> <CODE> ]",
        ),
        ("let n = 3; in (x: with { }; [ x ]) (n - 1)", "[ <CODE> ]"),
        ("let n = 3; in (x: assert x > 0; [ x ]) (n - 1)", "[ 2 ]"),
        (
            "let n = 3; in (x: let y = 1; in if x < y then [ ] else [ x ]) (n - 1)",
            "[ 2 ]",
        ),
        (
            "let n = 3; in (x: if 0 < x then [ x ] else [ ]) (n - 1)",
            "[ 2 ]",
        ),
        (
            "let n = 3; in (x: if [ x ] == [ ] then [ ] else [ x ]) (n - 1)",
            "[ <CODE> ]",
        ),
    ];
    for (source, expected) in cases {
        assert_eq!(eval_lazy(source), expected, "{source}");
    }
}

/// The elements `map`, `mapAttrs` and `genList` make share their function and source, but
/// each is a thunk of its own: unevaluated ones print as `<CODE>`, evaluated ones as their
/// value. Expected outputs are nix-instantiate 2.8's.
#[test]
fn mapped_elements_print_as_nix_does() {
    let cases = [
        ("map (x: x) [ 1 2 ]", "[ <CODE> <CODE> ]"),
        (
            "builtins.mapAttrs (n: v: v) { a = 1; b = 2; }",
            "{ a = <CODE>; b = <CODE>; }",
        ),
        ("builtins.genList (i: i) 3", "[ <CODE> <CODE> <CODE> ]"),
        (
            "let l = map (x: x + 1) [ 1 2 ]; in builtins.seq (builtins.elemAt l 0) l",
            "[ 2 <CODE> ]",
        ),
        (
            "let s = builtins.mapAttrs (n: v: n) { a = 1; b = 2; }; in builtins.seq s.b s",
            "{ a = <CODE>; b = \"b\"; }",
        ),
        (
            "let l = builtins.genList (i: i * 2) 3; in builtins.seq (builtins.elemAt l 2) l",
            "[ <CODE> <CODE> 4 ]",
        ),
    ];
    for (source, expected) in cases {
        assert_eq!(eval_lazy(source), expected, "{source}");
    }
}
