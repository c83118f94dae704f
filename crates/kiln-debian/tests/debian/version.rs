//! Debian version order: dpkg's own test table, parsing errors, and order properties.

use kiln_debian::{Op, Version};
use proptest::prelude::*;
use std::cmp::Ordering;

fn v(s: &str) -> Version {
    Version::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
}

/// Cases from dpkg's `lib/dpkg/t/t-version.c` and `scripts/t/Dpkg_Version.t`:
/// (a, b, sign of compare(a, b)).
const DPKG_CASES: &[(&str, &str, i32)] = &[
    ("0:0-0", "0:0-0", 0),
    ("0:asdf", "0:asdf", 0),
    ("1:2-3", "1:2-3", 0),
    ("0:0-0", "1:0-0", -1),
    ("1:0-0", "0:0-0", 1),
    ("0:a-0", "0:b-0", -1),
    ("0:b-0", "0:a-0", 1),
    ("0:0-a", "0:0-b", -1),
    ("0:0-b", "0:0-a", 1),
    ("1.0", "1.0", 0),
    ("1.0", "1.1", -1),
    ("1.0-1", "1.0-1", 0),
    ("1.0", "1.0-0", 0),
    ("1.0", "0:1.0", 0),
    ("1.0-0", "0:1.0-0", 0),
    ("1.0-1", "2.0-2", -1),
    ("2.2~rc-4", "2.2-1", -1),
    ("2.2-1", "2.2~rc-4", 1),
    ("1.0000-1", "1.0-1", 0),
    ("1", "0:1", 0),
    ("0", "0:0-0", 0),
    ("2:2.5", "1:7.5", 1),
    ("1:0foo", "0foo", 1),
    ("0:0foo", "0foo", 0),
    ("0foo", "0foo", 0),
    ("0foo-0", "0foo", 0),
    ("0foo", "0foo-0", 0),
    ("0foo", "0fo", 1),
    ("0foo-0", "0foo+", -1),
    ("0foo~1", "0foo", -1),
    ("0foo~foo+Bar", "0foo~foo+bar", -1),
    ("0foo~~", "0foo~", -1),
    ("1~", "1", -1),
    (
        "12345+that-really-is-some-ver-0",
        "12345+that-really-is-some-ver-10",
        -1,
    ),
    ("0foo-0", "0foo-01", -1),
    ("0foo.bar", "0foobar", 1),
    ("0foo.bar", "0foo1bar", 1),
    ("0foo.bar", "0foo0bar", 1),
    ("0foo1bar-1", "0foobar-1", -1),
    ("0foo2.0", "0foo2", 1),
    ("0foo2.0.0", "0foo2.10.0", -1),
    ("0foo2.0", "0foo2.0.0", -1),
    ("0foo2.0", "0foo2.10", -1),
    ("0foo2.1", "0foo2.10", -1),
    ("1.09", "1.9", 0),
    ("1.0.8+nmu1", "1.0.8", 1),
    ("3.11", "3.10+nmu1", 1),
    ("0.9j-20080306-4", "0.9i-20070324-2", 1),
    ("1.2.0~b7-1", "1.2.0~b6-1", 1),
    ("1.011-1", "1.06-2", 1),
    ("0.0.9+dfsg1-1", "0.0.8+dfsg1-3", 1),
    ("4.6.99+svn6582-1", "4.6.99+svn6496-1", 1),
    ("53", "52", 1),
    ("0.9.9~pre122-1", "0.9.9~pre111-1", 1),
    ("2:2.3.2-2+lenny2", "2:2.3.2-2", 1),
    ("1:3.8.1-1", "3.8.GA-1", 1),
    ("1.0.1+gpl-1", "1.0.1-2", 1),
    ("1a", "1000a", -1),
    // Real bookworm versions.
    ("6.1.135-1", "6.1.140-1", -1),
    ("1:1.35.0-4+b3", "1:1.35.0-4", 1),
    ("2.36-9+deb12u10", "2.36-9+deb12u9", 1),
    ("20230210-5", "20230210-5~bpo11+1", 1),
];

#[test]
fn dpkg_table() {
    for (a, b, expected) in DPKG_CASES {
        let expected = expected.cmp(&0);
        assert_eq!(v(a).cmp(&v(b)), expected, "{a} vs {b}");
        assert_eq!(v(b).cmp(&v(a)), expected.reverse(), "{b} vs {a}");
    }
}

#[test]
fn parts() {
    let version = v("1:2.30-1+b2");
    assert_eq!(version.epoch(), 1);
    assert_eq!(version.upstream(), "2.30");
    assert_eq!(version.revision(), "1+b2");
    assert_eq!(version.to_string(), "1:2.30-1+b2");
    let version = v("1.0-rc-1");
    assert_eq!(version.upstream(), "1.0-rc");
    assert_eq!(version.revision(), "1");
}

#[test]
fn bad_versions_are_errors() {
    for bad in [
        "",
        "a:1.0",
        ":1.0",
        "1.0 beta",
        "1:",
        "-1",
        "1.0-a:b",
        "99999999999999999999999:1",
    ] {
        let err = Version::parse(bad).unwrap_err();
        assert_eq!(err.code_str(), "kiln::debian::bad_version", "{bad:?}");
    }
}

#[test]
fn operators() {
    let (one, two) = (v("1.0"), v("2.0"));
    assert!(Op::Earlier.holds(&one, &two));
    assert!(!Op::Earlier.holds(&one, &one));
    assert!(Op::EarlierEqual.holds(&one, &one));
    assert!(Op::Equal.holds(&one, &v("0:1.0-0")));
    assert!(Op::LaterEqual.holds(&two, &one));
    assert!(Op::Later.holds(&two, &one));
    assert!(!Op::Later.holds(&one, &one));
    assert_eq!(Op::parse("<"), Some(Op::EarlierEqual));
    assert_eq!(Op::parse(">"), Some(Op::LaterEqual));
    assert_eq!(Op::parse("=>"), None);
}

fn version_strategy() -> impl Strategy<Value = String> {
    (
        prop::option::of(0u8..3),
        "[0-9][0-9a-z.+~]{0,6}",
        prop::option::of("[0-9a-z.+~]{1,4}"),
    )
        .prop_map(|(epoch, upstream, revision)| {
            let mut s = String::new();
            if let Some(e) = epoch {
                s.push_str(&format!("{e}:"));
            }
            s.push_str(&upstream);
            if let Some(r) = revision {
                s.push('-');
                s.push_str(&r);
            }
            s
        })
}

proptest! {
    #[test]
    fn antisymmetric(a in version_strategy(), b in version_strategy()) {
        let (va, vb) = (v(&a), v(&b));
        prop_assert_eq!(va.cmp(&vb), vb.cmp(&va).reverse());
        prop_assert_eq!(va == vb, va.cmp(&vb) == Ordering::Equal);
    }

    #[test]
    fn transitive(a in version_strategy(), b in version_strategy(), c in version_strategy()) {
        let all = [v(&a), v(&b), v(&c)];
        for x in &all {
            for y in &all {
                for z in &all {
                    if x <= y && y <= z {
                        prop_assert!(x <= z, "{} <= {} <= {} but not {} <= {}", x, y, z, x, z);
                    }
                }
            }
        }
    }

    #[test]
    fn tilde_sorts_first(a in "[0-9][0-9a-z.]{0,6}") {
        let plain = v(&a);
        let tilde = v(&format!("{a}~rc1"));
        prop_assert!(tilde < plain);
        let plus = v(&format!("{a}+b1"));
        prop_assert!(plain < plus);
    }

    #[test]
    fn parse_never_panics(s in "\\PC{0,20}") {
        let _ = Version::parse(&s);
    }
}
