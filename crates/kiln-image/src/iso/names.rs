//! ISO 9660 file identifiers for the real names of one directory.
//!
//! ECMA-119 7.5 and 7.6 restrict identifiers to d-characters; interchange level 1 (10.1) limits
//! file names to 8.3 and directory names to 8. kiln writes level-1 shaped names (uppercase, `_`
//! for anything else, `;1` version on files) so that every reader can list the disc, and leaves
//! the real names to Rock Ridge `NM`. Collisions get a numeric tail (`FOO_1.TXT;1`) in the
//! order of the real names, which are sorted, so the result is deterministic.

use std::collections::{BTreeMap, BTreeSet};

/// Maps each `(real name, is_dir)` of one directory, in the given order, to a unique identifier.
pub(crate) fn iso_identifiers(names: &[(&str, bool)]) -> Vec<Vec<u8>> {
    let mut taken = BTreeSet::new();
    // Next counter to try per (stem, extension, kind): keeps many clashing names (a man page
    // directory) linear instead of quadratic.
    let mut next_counter: BTreeMap<(String, String, bool), u32> = BTreeMap::new();
    let mut out = Vec::with_capacity(names.len());
    for (name, is_dir) in names {
        let (stem, ext) = split(name, *is_dir);
        let short: String = stem.chars().take(8).collect();
        let counter = next_counter
            .entry((short, ext.clone(), *is_dir))
            .or_insert(0);
        loop {
            let candidate = compose(&stem, &ext, *counter, *is_dir);
            *counter += 1;
            // Identifiers compare without the version, so `A;1` and `A` (a directory) clash.
            let key = candidate
                .split(|byte| *byte == b';')
                .next()
                .unwrap_or(&[])
                .to_vec();
            if taken.insert(key) {
                out.push(candidate);
                break;
            }
        }
    }
    out
}

/// ECMA-119 7.4.1: d-characters are `A-Z`, `0-9` and `_`.
fn d_chars(text: &str) -> String {
    text.chars()
        .map(|ch| {
            if ch.is_ascii_alphanumeric() {
                ch.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect()
}

/// Splits a real name into an 8-character stem and a 3-character extension.
fn split(name: &str, is_dir: bool) -> (String, String) {
    let (stem, ext) = match name.rfind('.') {
        Some(dot) if !is_dir && dot > 0 => (&name[..dot], &name[dot + 1..]),
        _ => (name, ""),
    };
    let mut stem = d_chars(stem);
    if stem.is_empty() {
        stem.push('_');
    }
    (stem, d_chars(ext).chars().take(3).collect())
}

/// Builds `STEM[_N][.EXT];1` (files) or `STEM[_N]` (directories) within the 8-character stem.
fn compose(stem: &str, ext: &str, counter: u32, is_dir: bool) -> Vec<u8> {
    let tail = if counter == 0 {
        String::new()
    } else {
        format!("_{counter}")
    };
    let keep = 8usize.saturating_sub(tail.len());
    let mut id: String = stem.chars().take(keep).collect();
    id.push_str(&tail);
    if !is_dir {
        // 7.5.1: a file identifier always has the separator, even with no extension.
        id.push('.');
        id.push_str(ext);
        id.push_str(";1");
    }
    id.into_bytes()
}

/// ECMA-119 9.3 Order of Directory Records: by name (space padded), then extension, then
/// version. Our identifiers only use d-characters, `.` and `;`, and `_` sorts after letters and
/// digits, so comparing the (stem, extension) pair as padded byte strings is exact.
pub(crate) fn ecma_order(id: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let text = id.split(|byte| *byte == b';').next().unwrap_or(&[]);
    let mut parts = text.splitn(2, |byte| *byte == b'.');
    let stem = parts.next().unwrap_or(&[]);
    let ext = parts.next().unwrap_or(&[]);
    let pad = |part: &[u8]| {
        let mut padded = part.to_vec();
        padded.resize(32, b' ');
        padded
    };
    (pad(stem), pad(ext))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mangles_and_dedups() {
        let ids = iso_identifiers(&[
            ("README.md", false),
            ("Readme.MD", false),
            ("vmlinuz-6.1.0-amd64", false),
            ("isolinux", true),
            (".hidden", false),
        ]);
        let ids: Vec<String> = ids
            .into_iter()
            .map(|id| String::from_utf8(id).unwrap())
            .collect();
        assert_eq!(
            ids,
            [
                "README.MD;1",
                "README_1.MD;1",
                "VMLINUZ_.0_A;1",
                "ISOLINUX",
                "_HIDDEN.;1"
            ]
        );
    }

    #[test]
    fn many_clashing_names_stay_unique() {
        let names: Vec<String> = (0..5000)
            .map(|i| format!("systemd-unit-{i}.service"))
            .collect();
        let input: Vec<(&str, bool)> = names.iter().map(|name| (name.as_str(), false)).collect();
        let ids = iso_identifiers(&input);
        let unique: BTreeSet<_> = ids.iter().collect();
        assert_eq!(unique.len(), 5000);
        assert!(ids.iter().all(|id| id.len() <= 8 + 1 + 3 + 2));
    }
}
