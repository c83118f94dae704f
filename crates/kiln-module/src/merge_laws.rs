//! Property tests of the merge laws (DESIGN.md, "Module system"), run through kiln's evaluator
//! and the Nix lib exactly as profiles use them:
//!
//! - the lowest priority number wins, and only definitions with that priority are merged;
//! - equal-priority list definitions merge in the reverse of module order;
//! - a definition under `mkIf false` is neutral;
//! - `mkMerge [ a b ]` in one module gives the same value (or the same failure) as modules `a`
//!   and `b`, for a type whose merge does not depend on order (`attrsOf int`, with priorities).
//!
//! The model each law is checked against is a few lines of Rust next to it.

use kiln_eval::{EvalOptions, Evaluator};
use proptest::prelude::*;
use std::cell::RefCell;
use std::path::Path;

thread_local! {
    // One evaluator for all cases: the lib is parsed once; each case is a new source text.
    static EV: RefCell<Evaluator> =
        RefCell::new(crate::evaluator(EvalOptions { trace_to_stderr: false, ..EvalOptions::default() }));
}

/// `--eval --strict` of `expr` (with `lib` in scope), or the error's text.
fn eval(expr: &str) -> Result<String, String> {
    EV.with(|ev| {
        let mut ev = ev.borrow_mut();
        let text = format!("let lib = import <kiln/lib>; inherit (lib) mkOption types mkOverride mkIf mkMerge; in {expr}");
        let file = ev.sources_mut().add_virtual("«law»", Path::new("/"), text);
        ev.eval_source(file)
            .and_then(|v| ev.print(&v, true))
            .map_err(|e| e.to_string())
    })
}

/// `config.l` of modules declaring `l` with `ty` and then `modules` (Nix source, in order).
fn config_l(ty: &str, modules: &[String]) -> Result<String, String> {
    let default = if ty.contains("listOf") { "[ ]" } else { "{ }" };
    eval(&format!(
        "(lib.evalModules {{ modules = [ {{ options.l = mkOption {{ type = {ty}; default = {default}; }}; }} {} ]; }}).config.l",
        modules.join(" ")
    ))
}

fn priority() -> impl Strategy<Value = i64> {
    prop_oneof![
        Just(10),
        Just(50),
        Just(60),
        Just(100),
        Just(100),
        Just(1000),
        Just(1500),
        1i64..2000,
    ]
}

/// How `--eval --strict` prints a list of ints.
fn printed(items: &[i64]) -> String {
    let items: Vec<String> = items.iter().map(i64::to_string).collect();
    format!("[ {} ]", items.join(" ")).replace("[  ]", "[ ]")
}

/// A list of ints as Nix source (negative numbers need parentheses in a list).
fn nix_list(items: &[i64]) -> String {
    let items: Vec<String> = items.iter().map(|i| format!("({i})")).collect();
    format!("[ {} ]", items.join(" "))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// Lists: the winners are the definitions with the lowest priority number, concatenated in
    /// reverse module order.
    #[test]
    fn lowest_priority_wins_and_lists_merge_in_reverse_module_order(
        defs in prop::collection::vec((priority(), prop::collection::vec(-5i64..5, 0..3)), 1..7)
    ) {
        let modules: Vec<String> = defs
            .iter()
            .map(|(p, items)| format!("{{ l = mkOverride {p} {}; }}", nix_list(items)))
            .collect();
        // The declaration's `default = [ ]` is a definition at 1500 too (empty, so only its
        // priority matters).
        let best = defs.iter().map(|(p, _)| *p).min().unwrap_or(100).min(1500);
        let expected: Vec<i64> = defs
            .iter()
            .rev()
            .filter(|(p, _)| *p == best)
            .flat_map(|(_, items)| items.iter().copied())
            .collect();
        let got = config_l("types.listOf types.int", &modules);
        prop_assert_eq!(got, Ok(printed(&expected)));
    }

    /// Adding `mkIf false` definitions anywhere changes nothing.
    #[test]
    fn mkif_false_is_neutral(
        defs in prop::collection::vec((priority(), prop::collection::vec(-5i64..5, 0..3)), 1..5),
        switched_off in prop::collection::vec((0usize..6, priority(), -5i64..5), 1..4)
    ) {
        let modules: Vec<String> = defs
            .iter()
            .map(|(p, items)| format!("{{ l = mkOverride {p} {}; }}", nix_list(items)))
            .collect();
        let mut with_off = modules.clone();
        for (at, p, v) in &switched_off {
            let at = (*at).min(with_off.len());
            with_off.insert(at, format!("{{ l = mkIf false (mkOverride {p} [ ({v}) ]); }}"));
        }
        let ty = "types.listOf types.int";
        prop_assert_eq!(config_l(ty, &with_off), config_l(ty, &modules));
    }

    /// `mkMerge [ a b ]` equals the two modules `a` and `b` (same value, or both fail).
    #[test]
    fn mkmerge_equals_separate_modules(
        a in prop::collection::vec((0usize..3, priority(), 0i64..3), 0..4),
        b in prop::collection::vec((0usize..3, priority(), 0i64..3), 0..4)
    ) {
        let set = |defs: &[(usize, i64, i64)]| -> String {
            let items: Vec<String> = defs
                .iter()
                .map(|(k, p, v)| format!("{{ l.k{k} = mkOverride {p} {v}; }}"))
                .collect();
            format!("(mkMerge [ {} ])", items.join(" "))
        };
        let ty = "types.attrsOf types.int";
        let merged = config_l(ty, &[format!("{{ config = mkMerge [ {} {} ]; }}", set(&a), set(&b))]);
        let separate = config_l(ty, &[format!("{{ config = {}; }}", set(&a)), format!("{{ config = {}; }}", set(&b))]);
        prop_assert_eq!(merged.is_ok(), separate.is_ok(), "{:?} vs {:?}", merged, separate);
        if merged.is_ok() {
            prop_assert_eq!(merged, separate);
        }
    }
}

#[test]
fn law_harness_sees_the_design_example() {
    // DESIGN.md: `[ decl {l=[1];} {l=[2];} {l=[3];} { imports = [ {l=[4];} {l=[5];} ]; l = [6]; } ]`.
    let modules = [
        "{ l = [ 1 ]; }",
        "{ l = [ 2 ]; }",
        "{ l = [ 3 ]; }",
        "{ imports = [ { l = [ 4 ]; } { l = [ 5 ]; } ]; l = [ 6 ]; }",
    ];
    let modules: Vec<String> = modules.iter().map(|m| m.to_string()).collect();
    assert_eq!(
        config_l("types.listOf types.int", &modules),
        Ok("[ 5 4 6 3 2 1 ]".to_string())
    );
    // And the mkMerge law is not vacuous: the harness's modules merge.
    let merged = "{ config = mkMerge [ (mkMerge [ { l.k0 = mkOverride 50 1; } ]) (mkMerge [ { l.k0 = 2; } { l.k1 = 0; } ]) ]; }";
    assert_eq!(
        config_l("types.attrsOf types.int", &[merged.to_string()]),
        Ok("{ k0 = 1; k1 = 0; }".to_string())
    );
}
