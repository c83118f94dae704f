//! Closure resolution on the fixture index: alternatives, virtual packages, version
//! constraints, cycles, essential packages and missing dependencies.

use crate::common::{fixture_index, names};
use kiln_debian::{resolve, DebianError, ResolveOptions, Version};

fn closure(request: &[&str]) -> Vec<String> {
    let index = fixture_index();
    let result = resolve(&index, &names(request), &ResolveOptions::default()).unwrap();
    result
        .values()
        .map(|p| format!("{}={}", p.name, p.version))
        .collect()
}

#[test]
fn alternatives_virtuals_constraints_and_cycles() {
    // app: libc6 (>= 2.36) [which needs libgcc-s1, which needs libc6: a cycle],
    // mail-transport-agent | exim4 [virtual: of exim4 and postfix, exim4 is first by name],
    // libfoo (>= 2.0) | libfoo-compat [libfoo is too old, so the second alternative],
    // Pre-Depends init-system-helpers.
    assert_eq!(
        closure(&["app"]),
        [
            "app=1.0-1",
            "exim4=4.96-15",
            "gcc-12-base=12.2.0-14",
            "init-system-helpers=1.65.2",
            "libc6=2.36-9+deb12u10",
            "libfoo-compat=2.1-1",
            "libgcc-s1=12.2.0-14",
        ]
    );
}

#[test]
fn requested_provider_wins() {
    let got = closure(&["postfix", "app"]);
    assert!(
        got.contains(&"postfix=3.7.11-0+deb12u1".to_string()),
        "{got:?}"
    );
    assert!(!got.iter().any(|p| p.starts_with("exim4=")), "{got:?}");
}

#[test]
fn versioned_provides() {
    // awk (>= 5): awk-a provides awk without a version, so only gawk's `awk (= 5.2.1)` counts.
    assert_eq!(closure(&["wants-awk"]), ["gawk=1:5.2.1-2", "wants-awk=1.0"]);
    // Unversioned: the first provider by name.
    assert_eq!(
        closure(&["wants-any-awk"]),
        ["awk-a=1.0", "wants-any-awk=1.0"]
    );
}

#[test]
fn version_constraints_pick_among_versions() {
    assert_eq!(closure(&["old-user"]), ["old-user=1.0", "tool=1.0-1"]);
    assert_eq!(closure(&["new-user"]), ["new-user=1.0", "tool=2.0-1"]);
    assert_eq!(closure(&["tool"]), ["tool=2.0-1"]);
    assert_eq!(
        closure(&["epoch-user"]),
        ["epoch-pkg=1:0.5", "epoch-user=1.0"]
    );
    assert!(closure(&["multiarch-user"]).contains(&"libc6=2.36-9+deb12u10".to_string()));
}

#[test]
fn tilde_version_does_not_satisfy_release() {
    let index = fixture_index();
    let err = resolve(&index, &names(&["tilde-user"]), &ResolveOptions::default()).unwrap_err();
    match &err {
        DebianError::MissingDependency { relation, chain } => {
            assert_eq!(relation, "tilde-pkg (>= 1.0)");
            assert_eq!(chain, &names(&["tilde-user"]));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn missing_dependency_names_the_chain() {
    let index = fixture_index();
    let err = resolve(
        &index,
        &names(&["needs-missing"]),
        &ResolveOptions::default(),
    )
    .unwrap_err();
    assert_eq!(err.code_str(), "kiln::debian::missing_dependency");
    assert_eq!(
        err.to_string(),
        "no package satisfies `ghost (>= 1) | phantom`, needed by needs-missing → middle"
    );
}

#[test]
fn unknown_requested_name() {
    let index = fixture_index();
    let err = resolve(
        &index,
        &names(&["no-such-package"]),
        &ResolveOptions::default(),
    )
    .unwrap_err();
    assert_eq!(err.code_str(), "kiln::debian::unknown_package");
}

#[test]
fn essential_only_when_asked() {
    let index = fixture_index();
    let without = resolve(&index, &names(&["tool"]), &ResolveOptions::default()).unwrap();
    assert!(!without.contains_key("base-files"));
    let options = ResolveOptions {
        with_essential: true,
        ..ResolveOptions::default()
    };
    let with = resolve(&index, &names(&["tool"]), &options).unwrap();
    assert!(with.contains_key("base-files"));
}

#[test]
fn pins_are_kept_when_they_satisfy() {
    let index = fixture_index();
    let mut options = ResolveOptions::default();
    options
        .pinned
        .insert("tool".into(), Version::parse("1.0-1").unwrap());
    let got = resolve(&index, &names(&["tool"]), &options).unwrap();
    assert_eq!(got["tool"].version.to_string(), "1.0-1");
    // A pin that does not satisfy is not forced: new-user needs tool >= 2.0~.
    let got = resolve(&index, &names(&["new-user"]), &options).unwrap();
    assert_eq!(got["tool"].version.to_string(), "2.0-1");
}

#[test]
fn contrib_resolves_against_main() {
    assert_eq!(
        closure(&["contrib-tool"]),
        [
            "contrib-tool=1.0-1",
            "gcc-12-base=12.2.0-14",
            "libc6=2.36-9+deb12u10",
            "libgcc-s1=12.2.0-14",
        ]
    );
}
