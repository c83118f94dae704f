//! A package's licence, read from its `/usr/share/doc/PKG/copyright` when the file is
//! machine-readable (DEP-5, <https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/>),
//! as an SPDX licence expression for bills of materials.
//!
//! The rules:
//! - Only a file whose first paragraph has a `Format:` naming the copyright format is read; any
//!   other file (glibc's, coreutils' free-form text) gives `NOASSERTION`, as does a file that is
//!   not deb822.
//! - The package's licence is the conjunction (`AND`) of the distinct `License:` short names of
//!   its `Files:` paragraphs (the header's `License:` when no `Files:` paragraph has one):
//!   every file is under its paragraph's licence, so the package as a whole is under all of them.
//! - A DEP-5 expression keeps its structure: `or` and `and` (`and` binds tighter), a comma
//!   before either making the rest one lower-precedence group, and `with X exception`.
//! - A short name becomes an SPDX id where DEP-5's name is SPDX-compatible: `GPL-2+` is
//!   `GPL-2.0-or-later`, `LGPL-2.1` `LGPL-2.1-only`, `Expat` `MIT`, `BSD-3-clause`
//!   `BSD-3-Clause`, `Artistic` Perl's `Artistic-1.0-Perl`, `Perl` Perl's dual licence; any name
//!   the SPDX licence list has (compared without case) is itself. Deprecated SPDX ids are not
//!   used. Anything else (`public-domain`, `GPL` without a version, an exception SPDX does not
//!   list) becomes a `LicenseRef-NAME-HASH` whose text is the file's standalone `License:`
//!   paragraph of that name, or the `Files:` paragraph's licence text, or, when the file gives
//!   no text, a sentence saying so. The hash (of the text) makes two packages' different texts
//!   under one name two references, and equal texts one.

use crate::deb822;
use sha2::{Digest as _, Sha256};
use std::collections::BTreeMap;

/// `NOASSERTION`: SPDX's "nothing can be said".
pub const NOASSERTION: &str = "NOASSERTION";

/// What a copyright file says about a package's licence.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Licensing {
    /// An SPDX licence expression, or [`NOASSERTION`].
    pub declared: String,
    /// The `LicenseRef-` ids `declared` uses, each with its text.
    pub refs: Vec<LicenseRef>,
}

/// A licence the SPDX list does not have, named and given by the copyright file.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct LicenseRef {
    /// `LicenseRef-` followed by letters, digits, `.` and `-`.
    pub id: String,
    /// The short name the copyright file used.
    pub name: String,
    pub text: String,
}

impl Licensing {
    fn unknown() -> Licensing {
        Licensing {
            declared: NOASSERTION.to_string(),
            refs: Vec::new(),
        }
    }
}

/// The licence of a package whose copyright file (at `path`, for the texts that name it) reads
/// `text`.
pub fn licensing(text: &str, path: &str) -> Licensing {
    let Ok(paragraphs) = deb822::parse(text, path) else {
        return Licensing::unknown();
    };
    let is_dep5 = paragraphs
        .first()
        .and_then(|p| p.get("Format"))
        .is_some_and(|f| {
            f.contains("copyright-format") || f.contains("dep5") || f.contains("DEP-5")
        });
    if !is_dep5 {
        return Licensing::unknown();
    }
    // Standalone `License:` paragraphs give the texts of the names the `Files:` paragraphs use.
    let mut texts: BTreeMap<String, String> = BTreeMap::new();
    let mut names: Vec<(String, String)> = Vec::new();
    for (index, paragraph) in paragraphs.iter().enumerate() {
        let Some(license) = paragraph.get("License") else {
            continue;
        };
        let (name, body) = split_license(license);
        if name.is_empty() {
            continue;
        }
        if paragraph.get("Files").is_some() {
            names.push((name, body));
        } else if index > 0 && !body.is_empty() {
            texts.entry(name.to_ascii_lowercase()).or_insert(body);
        }
    }
    if names.is_empty() {
        if let Some(header) = paragraphs[0].get("License") {
            let (name, body) = split_license(header);
            if !name.is_empty() {
                names.push((name, body));
            }
        }
    }
    if names.is_empty() {
        return Licensing::unknown();
    }
    let mut converter = Converter {
        texts: &texts,
        path,
        refs: BTreeMap::new(),
    };
    let mut terms: Vec<String> = Vec::new();
    for (name, body) in &names {
        let Some(term) = converter.expression(name, body) else {
            return Licensing::unknown();
        };
        if !terms.contains(&term) {
            terms.push(term);
        }
    }
    terms.sort();
    let declared = if terms.len() == 1 {
        terms.remove(0)
    } else {
        terms
            .iter()
            .map(|t| parenthesise(t))
            .collect::<Vec<_>>()
            .join(" AND ")
    };
    // The expression must be one SPDX tools accept; anything else says nothing.
    if spdx::Expression::parse(&declared).is_err() {
        return Licensing::unknown();
    }
    Licensing {
        declared,
        refs: converter.refs.into_values().collect(),
    }
}

/// A `License:` value: the short name (first line) and the text (the rest, `.` lines blank).
fn split_license(value: &str) -> (String, String) {
    let mut lines = value.lines();
    let name = lines.next().unwrap_or_default().trim().to_string();
    let body: Vec<&str> = lines
        .map(|line| if line.trim() == "." { "" } else { line })
        .collect();
    (name, body.join("\n").trim().to_string())
}

fn parenthesise(term: &str) -> String {
    if term.contains(' ') && !(term.starts_with('(') && term.ends_with(')')) {
        format!("({term})")
    } else {
        term.to_string()
    }
}

struct Converter<'a> {
    /// Standalone licence texts by lower-case name.
    texts: &'a BTreeMap<String, String>,
    path: &'a str,
    refs: BTreeMap<String, LicenseRef>,
}

impl Converter<'_> {
    /// A DEP-5 licence expression as SPDX's; `None` when it cannot be read at all.
    fn expression(&mut self, dep5: &str, body: &str) -> Option<String> {
        // Commas make groups of lower precedence: `A or B, and C` is `(A or B) and C`.
        let mut result: Option<String> = None;
        for (index, group) in dep5.split(',').enumerate() {
            let group = group.trim();
            let (op, rest) = if index == 0 {
                ("", group)
            } else if let Some(rest) = strip_word(group, "and") {
                ("AND", rest)
            } else if let Some(rest) = strip_word(group, "or") {
                ("OR", rest)
            } else {
                return None;
            };
            let term = self.alternatives(rest, body)?;
            result = Some(match result {
                None => term,
                Some(left) => format!("{} {op} {}", parenthesise(&left), parenthesise(&term)),
            });
        }
        result
    }

    /// `A and B or C`: `or` of `and`s.
    fn alternatives(&mut self, text: &str, body: &str) -> Option<String> {
        let words: Vec<&str> = text.split_whitespace().collect();
        if words.is_empty() {
            return None;
        }
        let mut ors: Vec<Vec<String>> = vec![Vec::new()];
        let mut atom: Vec<&str> = Vec::new();
        let mut in_exception = false;
        let mut flush = |atom: &mut Vec<&str>, ors: &mut Vec<Vec<String>>| -> Option<()> {
            if atom.is_empty() {
                return None;
            }
            let converted = self.atom(&atom.join(" "), body);
            ors.last_mut()?.push(converted);
            atom.clear();
            Some(())
        };
        for word in words {
            let lower = word.to_ascii_lowercase();
            if lower == "with" {
                in_exception = true;
                atom.push(word);
            } else if in_exception {
                atom.push(word);
                if lower == "exception" {
                    in_exception = false;
                }
            } else if lower == "and" {
                flush(&mut atom, &mut ors)?;
            } else if lower == "or" {
                flush(&mut atom, &mut ors)?;
                ors.push(Vec::new());
            } else {
                atom.push(word);
            }
        }
        flush(&mut atom, &mut ors)?;
        let ands: Vec<String> = ors
            .into_iter()
            .map(|terms| {
                if terms.len() == 1 {
                    terms.into_iter().next().unwrap_or_default()
                } else {
                    terms
                        .iter()
                        .map(|t| parenthesise(t))
                        .collect::<Vec<_>>()
                        .join(" AND ")
                }
            })
            .collect();
        Some(if ands.len() == 1 {
            ands.into_iter().next().unwrap_or_default()
        } else {
            ands.iter()
                .map(|t| parenthesise(t))
                .collect::<Vec<_>>()
                .join(" OR ")
        })
    }

    /// One licence, perhaps `NAME with X exception`.
    fn atom(&mut self, atom: &str, body: &str) -> String {
        let (name, exception) = match atom.to_ascii_lowercase().find(" with ") {
            Some(at) => (&atom[..at], Some(atom[at + 6..].trim())),
            None => (atom, None),
        };
        let license = spdx_license(name.trim());
        let exception = exception.map(|e| spdx_exception(e.trim_end_matches("exception").trim()));
        match (license, exception) {
            (Some(license), None) => license,
            (Some(license), Some(Some(exception))) if !license.contains(' ') => {
                format!("{license} WITH {exception}")
            }
            _ => self.reference(atom, body),
        }
    }

    /// A `LicenseRef-` for a name SPDX does not know, with its text.
    fn reference(&mut self, name: &str, body: &str) -> String {
        let text = self
            .texts
            .get(&name.to_ascii_lowercase())
            .cloned()
            .or_else(|| (!body.is_empty()).then(|| body.to_string()))
            .unwrap_or_else(|| {
                format!(
                    "The licence `{name}` is named in {} without its text.",
                    self.path
                )
            });
        let hash = Sha256::digest(text.as_bytes());
        let short: String = hash[..4].iter().map(|b| format!("{b:02x}")).collect();
        let mut id = String::from("LicenseRef-");
        for c in name.chars() {
            id.push(if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else if c == '+' {
                'P'
            } else {
                '-'
            });
        }
        id.push('-');
        id.push_str(&short);
        self.refs.entry(id.clone()).or_insert(LicenseRef {
            id: id.clone(),
            name: name.to_string(),
            text,
        });
        id
    }
}

fn strip_word<'a>(text: &'a str, word: &str) -> Option<&'a str> {
    let head = text.get(..word.len())?;
    let rest = &text[word.len()..];
    (head.eq_ignore_ascii_case(word) && rest.starts_with(char::is_whitespace)).then(|| rest.trim())
}

/// The SPDX expression for one DEP-5 short name, if it has one.
fn spdx_license(name: &str) -> Option<String> {
    let (base, or_later) = match name.strip_suffix('+') {
        Some(base) => (base, true),
        None => (name, false),
    };
    let lower = base.to_ascii_lowercase();
    // The GNU licences: SPDX spells the version out and says `-only` or `-or-later`.
    for (prefix, spdx_prefix) in [
        ("gpl-", "GPL-"),
        ("lgpl-", "LGPL-"),
        ("agpl-", "AGPL-"),
        ("gfdl-niv-", "GFDL-"),
        ("gfdl-", "GFDL-"),
    ] {
        if let Some(version) = lower.strip_prefix(prefix) {
            let version = if version.contains('.') {
                version.to_string()
            } else {
                format!("{version}.0")
            };
            let niv = if prefix == "gfdl-niv-" {
                "-no-invariants"
            } else {
                ""
            };
            let suffix = if or_later { "-or-later" } else { "-only" };
            let id = format!("{spdx_prefix}{version}{niv}{suffix}");
            return known(&id).then_some(id);
        }
    }
    let id = match lower.as_str() {
        "expat" => "MIT".to_string(),
        "artistic" | "artistic-1" | "artistic-1.0" => "Artistic-1.0-Perl".to_string(),
        "perl" => return Some("Artistic-1.0-Perl OR GPL-1.0-or-later".to_string()),
        "apache-2" => "Apache-2.0".to_string(),
        "cc0" => "CC0-1.0".to_string(),
        "mpl-2" => "MPL-2.0".to_string(),
        "zlib" => "Zlib".to_string(),
        _ => spdx::identifiers::LICENSES
            .iter()
            .find(|l| l.name.eq_ignore_ascii_case(base))?
            .name
            .to_string(),
    };
    if !known(&id) {
        return None;
    }
    Some(if or_later { format!("{id}+") } else { id })
}

/// Whether `id` is a current (not deprecated) SPDX licence id.
fn known(id: &str) -> bool {
    spdx::license_id(id).is_some_and(|l| l.name == id && !l.is_deprecated())
}

/// The SPDX exception id for DEP-5's `with NAME exception`, if SPDX lists it: the name itself
/// or `NAME-exception`, else the one exception whose id starts `NAME-exception-` (a version).
fn spdx_exception(name: &str) -> Option<String> {
    let current =
        |e: &&spdx::Exception| spdx::exception_id(e.name).is_some_and(|id| !id.is_deprecated());
    let exceptions = || spdx::identifiers::EXCEPTIONS.iter().filter(current);
    let suffixed = format!("{name}-exception");
    if let Some(exact) = exceptions()
        .find(|e| e.name.eq_ignore_ascii_case(name) || e.name.eq_ignore_ascii_case(&suffixed))
    {
        return Some(exact.name.to_string());
    }
    let prefix = format!("{suffixed}-").to_ascii_lowercase();
    let mut versioned = exceptions().filter(|e| e.name.to_ascii_lowercase().starts_with(&prefix));
    match (versioned.next(), versioned.next()) {
        (Some(only), None) => Some(only.name.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str =
        "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n";

    fn declared(body: &str) -> Licensing {
        licensing(&format!("{HEADER}\n{body}"), "usr/share/doc/x/copyright")
    }

    #[test]
    fn dep5_names_become_spdx_ids() {
        for (dep5, spdx) in [
            ("GPL-2+", "GPL-2.0-or-later"),
            ("GPL-3", "GPL-3.0-only"),
            ("LGPL-2.1+", "LGPL-2.1-or-later"),
            ("Expat", "MIT"),
            ("BSD-3-clause", "BSD-3-Clause"),
            ("Apache-2.0", "Apache-2.0"),
            ("GFDL-NIV-1.3+", "GFDL-1.3-no-invariants-or-later"),
            ("MPL-1.1+", "MPL-1.1+"),
            ("Zlib", "Zlib"),
            ("isc", "ISC"),
            (
                "GPL-2+ or Artistic",
                "GPL-2.0-or-later OR Artistic-1.0-Perl",
            ),
            (
                "GPL-2 with Font exception",
                "GPL-2.0-only WITH Font-exception-2.0",
            ),
            (
                "GPL-2+ or LGPL-2.1+, and MIT",
                "(GPL-2.0-or-later OR LGPL-2.1-or-later) AND MIT",
            ),
            (
                "MIT and BSD-2-clause or ISC",
                "(MIT AND BSD-2-Clause) OR ISC",
            ),
        ] {
            let got = declared(&format!("Files: *\nCopyright: someone\nLicense: {dep5}\n"));
            assert_eq!(got.declared, spdx, "{dep5}");
            assert!(got.refs.is_empty(), "{dep5}: {:?}", got.refs);
        }
    }

    #[test]
    fn the_package_is_under_every_files_paragraphs_licence() {
        let got = declared(
            "Files: *\nCopyright: a\nLicense: GPL-2+\n\nFiles: lib/*\nCopyright: b\nLicense: Expat\n\nFiles: doc/*\nCopyright: c\nLicense: GPL-2+\n",
        );
        assert_eq!(got.declared, "GPL-2.0-or-later AND MIT");
    }

    #[test]
    fn other_names_are_references_with_their_text() {
        let got = declared(
            "Files: *\nCopyright: a\nLicense: public-domain\n\nFiles: b\nCopyright: b\nLicense: GPL-2+\n\nLicense: public-domain\n This is in the public domain.\n .\n Really.\n",
        );
        assert_eq!(got.refs.len(), 1, "{got:?}");
        let reference = &got.refs[0];
        assert!(
            reference.id.starts_with("LicenseRef-public-domain-"),
            "{got:?}"
        );
        assert_eq!(reference.text, "This is in the public domain.\n\nReally.");
        assert_eq!(
            got.declared,
            format!("GPL-2.0-or-later AND {}", reference.id)
        );
        // Without a standalone paragraph, the file says it gives no text.
        let bare = declared("Files: *\nCopyright: a\nLicense: GPL\n");
        assert!(bare.refs[0].text.contains("without its text"), "{bare:?}");
        assert_eq!(bare.declared, bare.refs[0].id);
    }

    #[test]
    fn a_file_that_is_not_dep5_says_nothing() {
        for text in [
            "This is the Debian prepackaged version of GNU bash.\n\nCopyright (C) 1987 FSF\n",
            "Format-Specification: something else\nLicense: GPL-2\n",
            "",
        ] {
            assert_eq!(licensing(text, "c").declared, NOASSERTION, "{text}");
        }
        // A DEP-5 file whose paragraphs name no licence.
        assert_eq!(declared("Files: *\nCopyright: a\n").declared, NOASSERTION);
    }
}
