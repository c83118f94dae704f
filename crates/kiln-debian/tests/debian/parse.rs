//! Parsing: deb822 paragraphs, `Packages` records, relation fields, `Release`, apt sources.

use crate::common::fixtures;
use kiln_debian::deb822;
use kiln_debian::mirror::{mirror_from_apt, uris_from_deb822, uris_from_one_line};
use kiln_debian::{parse_packages, parse_relation, parse_relations, parse_release, Op};

#[test]
fn deb822_paragraphs_and_continuations() {
    let text = "A: 1\nB:  two words \n# comment\nLong:\n first\n second\n\n\n\nA: 3\n";
    let paragraphs = deb822::parse(text, "t").unwrap();
    assert_eq!(paragraphs.len(), 2);
    assert_eq!(paragraphs[0].get("a"), Some("1"));
    assert_eq!(paragraphs[0].get("B"), Some("two words"));
    assert_eq!(paragraphs[0].get("long"), Some("first\nsecond"));
    assert_eq!(paragraphs[1].line, 10);
    assert_eq!(paragraphs[1].get("A"), Some("3"));
}

#[test]
fn deb822_errors_name_the_line() {
    for (text, line) in [
        (" starts with space\n", 1),
        ("A: 1\nno colon here\n", 2),
        (": x\n", 1),
    ] {
        match deb822::parse(text, "t") {
            Err(kiln_debian::DebianError::Parse { line: got, .. }) => {
                assert_eq!(got, line, "{text:?}")
            }
            other => panic!("{text:?}: {other:?}"),
        }
    }
}

#[test]
fn packages_fixture() {
    let text = std::fs::read_to_string(fixtures().join("packages-main.txt")).unwrap();
    let packages = parse_packages(&text, "main").unwrap();
    assert_eq!(packages.len(), 25);
    let app = &packages[0];
    assert_eq!(app.name, "app");
    assert_eq!(app.version.to_string(), "1.0-1");
    assert_eq!(app.architecture, "all");
    assert_eq!(app.depends.len(), 3);
    assert_eq!(app.depends[1].to_string(), "mail-transport-agent | exim4");
    assert_eq!(
        app.pre_depends[0].to_string(),
        "init-system-helpers (>= 1.54~)"
    );
    assert_eq!(app.source, "app");
    assert!(app.filename.starts_with("pool/main/a/app/"));
    let libc = packages.iter().find(|p| p.name == "libc6").unwrap();
    assert_eq!(libc.source, "glibc");
    assert_eq!(libc.installed_size, Some(12985));
    let gcc = packages.iter().find(|p| p.name == "libgcc-s1").unwrap();
    assert_eq!(gcc.source, "gcc-12");
    let base = packages.iter().find(|p| p.name == "base-files").unwrap();
    assert!(base.essential);
    let gawk = packages.iter().find(|p| p.name == "gawk").unwrap();
    assert_eq!(gawk.version.epoch(), 1);
    assert_eq!(gawk.provides[0].to_string(), "awk (= 5.2.1)");
}

#[test]
fn relations() {
    let r = parse_relation("libc6:any (>= 2.36)").unwrap();
    assert_eq!(r.name, "libc6");
    let (op, version) = r.constraint.unwrap();
    assert_eq!(op, Op::LaterEqual);
    assert_eq!(version.to_string(), "2.36");
    let r = parse_relation("foo (<<1.0~)").unwrap();
    assert_eq!(r.constraint.unwrap().0, Op::Earlier);
    let r = parse_relation("foo [amd64] <!nocheck>").unwrap();
    assert_eq!((r.name.as_str(), r.constraint.is_none()), ("foo", true));
    let groups = parse_relations("a | b (= 1), , c").unwrap();
    assert_eq!(groups.len(), 2);
    assert_eq!(groups[0].0.len(), 2);
    for bad in ["foo (>= )", "foo (~~ 1)", "foo (>= 1", "f o o", "(>= 1)"] {
        assert!(parse_relation(bad).is_err(), "{bad}");
    }
}

#[test]
fn packages_errors() {
    let missing = "Package: a\nVersion: 1\nArchitecture: amd64\nFilename: pool/a.deb\nSize: 1\n";
    let err = parse_packages(missing, "idx").unwrap_err();
    assert_eq!(err.code_str(), "kiln::debian::parse");
    assert!(err.to_string().contains("SHA256"), "{err}");
    let hash = "0".repeat(64);
    for (field, value) in [
        ("Size", "lots"),
        ("Version", "not a version"),
        ("Filename", "../../etc/passwd.deb"),
        ("Filename", "/abs/x.deb"),
        ("Depends", "b (>= "),
    ] {
        let mut fields = vec![
            ("Package", "a"),
            ("Version", "1"),
            ("Architecture", "amd64"),
            ("Filename", "pool/a.deb"),
            ("Size", "1"),
            ("SHA256", hash.as_str()),
        ];
        fields.retain(|(k, _)| *k != field);
        fields.push((field, value));
        let text: String = fields.iter().map(|(k, v)| format!("{k}: {v}\n")).collect();
        let err = parse_packages(&text, "idx").unwrap_err();
        assert_eq!(err.code_str(), "kiln::debian::parse", "{field}: {value}");
    }
}

#[test]
fn release_fields() {
    let text = "Suite: stable\nCodename: bookworm\nDate: today\nSHA256:\n aa 12 main/binary-amd64/Packages\n BB 3 main/binary-amd64/Packages.xz\n";
    let release = parse_release(text, "ff", "Release").unwrap();
    assert_eq!(release.codename, "bookworm");
    assert_eq!(release.file("main/binary-amd64/Packages").unwrap().size, 12);
    assert_eq!(
        release
            .file("main/binary-amd64/Packages.xz")
            .unwrap()
            .sha256,
        "bb"
    );
    let err = release.file("contrib/binary-amd64/Packages").unwrap_err();
    assert_eq!(err.code_str(), "kiln::debian::not_in_release");
    assert!(parse_release("Suite: x\nSHA256:\n aa notanumber p\n", "", "R").is_err());
    assert!(parse_release("Suite: x\n", "", "R").is_err());
}

#[test]
fn apt_sources() {
    let deb822 = "Types: deb-src\nURIs: http://src.example/debian\n\nTypes: deb\nURIs: http://mirror.example/debian/ http://other/debian\nSuites: bookworm\n\nTypes: deb\nEnabled: no\nURIs: http://disabled/debian\n";
    assert_eq!(
        uris_from_deb822(deb822),
        vec!["http://mirror.example/debian", "http://other/debian"]
    );
    let one_line = "# deb http://commented/debian bookworm main\ndeb-src http://src/debian bookworm main\ndeb [arch=amd64 signed-by=/k.gpg] http://ftp.fr.debian.org/debian/ bookworm main\ndeb http://security.debian.org/debian-security bookworm-security main\n";
    assert_eq!(
        uris_from_one_line(one_line),
        vec![
            "http://ftp.fr.debian.org/debian",
            "http://security.debian.org/debian-security"
        ]
    );
    let etc = tempfile::tempdir().unwrap();
    std::fs::create_dir(etc.path().join("sources.list.d")).unwrap();
    assert_eq!(mirror_from_apt(etc.path()), None);
    std::fs::write(etc.path().join("sources.list"), one_line).unwrap();
    assert_eq!(
        mirror_from_apt(etc.path()).as_deref(),
        Some("http://ftp.fr.debian.org/debian")
    );
    std::fs::write(
        etc.path().join("sources.list.d/debian.sources"),
        "Types: deb\nURIs: http://security.debian.org/debian-security\n\nTypes: deb\nURIs: http://deb.example/debian\n",
    )
    .unwrap();
    assert_eq!(
        mirror_from_apt(etc.path()).as_deref(),
        Some("http://deb.example/debian")
    );
}
