//! Builtins of the `versions` family: `compareVersions`, `splitVersion` and `parseDrvName`, as
//! Nix 2.8's `names.cc` reads version strings.
//!
//! The rules are Nix's, quirks included, because package sets depend on the exact order:
//! components are separated by `.` and `-`, a component is a run of digits or a run of other
//! characters, `pre` sorts before everything else, a numeric component beats a non-numeric one
//! (`2.3a` < `2.3.1`), and a run of digits that does not fit in a C `int` is *not* a number.
//! Character classes are ASCII only, as `isdigit`/`isalpha` are in the C locale.

use std::cmp::Ordering;

use super::context::force_string_no_context;
use super::Builtin;
use crate::{AttrEntry, Attrs, EvalResult, Evaluator, Symbol, Value};

/// Splits `name` at the first `-` that is followed by a non-letter, as `DrvName::DrvName` does.
pub(crate) fn parse_drv_name(name: &str) -> (&str, &str) {
    let bytes = name.as_bytes();
    for idx in 0..bytes.len() {
        if bytes[idx] == b'-' && bytes.get(idx + 1).is_some_and(|c| !c.is_ascii_alphabetic()) {
            return (&name[..idx], &name[idx + 1..]);
        }
    }
    (name, "")
}

/// The components of a version, as `builtins.splitVersion` returns them.
pub(crate) fn split_version(version: &str) -> Vec<&str> {
    let mut rest = version;
    let mut res = Vec::new();
    loop {
        let component = next_component(&mut rest);
        if component.is_empty() {
            return res;
        }
        res.push(component);
    }
}

/// `builtins.compareVersions`: the order of two version strings.
pub(crate) fn compare_versions(v1: &str, v2: &str) -> Ordering {
    let (mut rest1, mut rest2) = (v1, v2);
    while !rest1.is_empty() || !rest2.is_empty() {
        let c1 = next_component(&mut rest1);
        let c2 = next_component(&mut rest2);
        if components_lt(c1, c2) {
            return Ordering::Less;
        }
        if components_lt(c2, c1) {
            return Ordering::Greater;
        }
    }
    Ordering::Equal
}

/// Skips separators, then takes the longest run of digits or of non-digit, non-separator bytes.
fn next_component<'a>(rest: &mut &'a str) -> &'a str {
    let bytes = rest.as_bytes();
    let mut start = 0;
    while start < bytes.len() && matches!(bytes[start], b'.' | b'-') {
        start += 1;
    }
    let mut end = start;
    if end < bytes.len() && bytes[end].is_ascii_digit() {
        while end < bytes.len() && bytes[end].is_ascii_digit() {
            end += 1;
        }
    } else {
        while end < bytes.len() && !matches!(bytes[end], b'0'..=b'9' | b'.' | b'-') {
            end += 1;
        }
    }
    // Both ends sit next to ASCII bytes (or the string's ends), so they are char boundaries.
    let component = &rest[start..end];
    *rest = &rest[end..];
    component
}

/// Nix's `string2Int<int>`: only components that fit in a C `int` are numbers.
fn as_number(component: &str) -> Option<i32> {
    if component.is_empty() || !component.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    component.parse().ok()
}

fn components_lt(c1: &str, c2: &str) -> bool {
    let n1 = as_number(c1);
    let n2 = as_number(c2);
    match (n1, n2) {
        (Some(n1), Some(n2)) => n1 < n2,
        _ if c1.is_empty() && n2.is_some() => true,
        _ if c1 == "pre" && c2 != "pre" => true,
        _ if c2 == "pre" => false,
        // Assume that `2.3a` < `2.3.1`.
        (_, Some(_)) => true,
        (Some(_), _) => false,
        _ => c1 < c2,
    }
}

pub(crate) const BUILTINS: &[Builtin] = &[
    Builtin {
        name: "compareVersions",
        arity: 2,
        func: compare_versions_builtin,
    },
    Builtin {
        name: "splitVersion",
        arity: 1,
        func: split_version_builtin,
    },
    Builtin {
        name: "parseDrvName",
        arity: 1,
        func: parse_drv_name_builtin,
    },
];

fn compare_versions_builtin(ev: &mut Evaluator, args: &[Value]) -> EvalResult<Value> {
    let v1 = force_string_no_context(ev, &args[0])?;
    let v2 = force_string_no_context(ev, &args[1])?;
    Ok(Value::Int(
        match compare_versions(v1.as_str(), v2.as_str()) {
            Ordering::Less => -1,
            Ordering::Equal => 0,
            Ordering::Greater => 1,
        },
    ))
}

fn split_version_builtin(ev: &mut Evaluator, args: &[Value]) -> EvalResult<Value> {
    let version = force_string_no_context(ev, &args[0])?;
    Ok(Value::list(
        split_version(version.as_str())
            .into_iter()
            .map(Value::string)
            .collect(),
    ))
}

fn parse_drv_name_builtin(ev: &mut Evaluator, args: &[Value]) -> EvalResult<Value> {
    let name = force_string_no_context(ev, &args[0])?;
    let (pname, version) = parse_drv_name(name.as_str());
    Ok(Value::Attrs(Attrs::from_entries(vec![
        AttrEntry {
            name: Symbol::intern("name"),
            value: Value::string(pname),
            pos: None,
        },
        AttrEntry {
            name: Symbol::intern("version"),
            value: Value::string(version),
            pos: None,
        },
    ])))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn cmp(a: &str, b: &str) -> i32 {
        match compare_versions(a, b) {
            Ordering::Less => -1,
            Ordering::Equal => 0,
            Ordering::Greater => 1,
        }
    }

    #[test]
    fn oracle_cases() {
        assert_eq!(cmp("1.0", "99999999999"), 1);
        assert_eq!(cmp("99999999999", "1"), -1);
        assert_eq!(cmp("99999999999", "a"), -1);
        assert_eq!(cmp("2147483648", "2147483647"), -1);
        assert_eq!(cmp("1.0pre1", "1.0"), -1);
        assert_eq!(cmp("2.3a", "2.3.1"), -1);
        assert_eq!(cmp("1.2.3-rc1", "1.2.3"), 1);
        assert_eq!(cmp("", "1"), -1);
        assert_eq!(cmp("1", "1.0"), -1);
        assert_eq!(cmp("01", "1"), 0);
        assert_eq!(cmp("1+x", "1-x"), -1);
        assert_eq!(cmp("1.a", "1.B"), 1);
        assert_eq!(
            split_version("1.2.3-rc1pre_x..5"),
            ["1", "2", "3", "rc", "1", "pre_x", "5"]
        );
        assert!(split_version("").is_empty());
        assert_eq!(parse_drv_name("nix-0.12pre12876"), ("nix", "0.12pre12876"));
        assert_eq!(parse_drv_name("a-b-c"), ("a-b-c", ""));
        assert_eq!(parse_drv_name("a-"), ("a-", ""));
        assert_eq!(parse_drv_name("-1"), ("", "1"));
        assert_eq!(parse_drv_name("foo-é1"), ("foo", "é1"));
    }

    proptest! {
        #[test]
        fn antisymmetric(a in "[0-9a-z.\\-é]{0,12}", b in "[0-9a-z.\\-é]{0,12}") {
            prop_assert_eq!(compare_versions(&a, &b), compare_versions(&b, &a).reverse());
        }

        #[test]
        fn reflexive(a in "[0-9a-z.\\-]{0,12}") {
            prop_assert_eq!(compare_versions(&a, &a), Ordering::Equal);
        }
    }

    proptest! {
        /// Through the evaluator: `compareVersions a b == -(compareVersions b a)`.
        #[test]
        fn compare_versions_builtin_antisymmetric(a in "[0-9a-z.\\-]{0,10}", b in "[0-9a-z.\\-]{0,10}") {
            use super::super::context::testing::eval_str;
            let ab = eval_str(&format!("builtins.compareVersions \"{a}\" \"{b}\""));
            let ba = eval_str(&format!("0 - builtins.compareVersions \"{b}\" \"{a}\""));
            prop_assert_eq!(ab, ba);
        }
    }
}
