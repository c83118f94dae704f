//! Which Debian mirror to use: `KILN_DEBIAN_MIRROR`, else the host's apt sources, else
//! `http://deb.debian.org/debian`.
//!
//! apt sources come in two forms, both read here: deb822 `.sources` files
//! (`/etc/apt/sources.list.d/*.sources`, `URIs:` field) and the one-line
//! `/etc/apt/sources.list` (`deb [options] URI suite components`). The first `deb` source whose
//! URI looks like a Debian archive (not `debian-security`, not a third-party repository) wins.

use crate::deb822;
use std::path::Path;

pub const DEFAULT_MIRROR: &str = "http://deb.debian.org/debian";

/// The mirror for this host (without a trailing `/`).
pub fn default_mirror() -> String {
    if let Some(mirror) = std::env::var("KILN_DEBIAN_MIRROR")
        .ok()
        .filter(|m| !m.trim().is_empty())
    {
        return trim(&mirror);
    }
    mirror_from_apt(Path::new("/etc/apt")).unwrap_or_else(|| DEFAULT_MIRROR.to_string())
}

/// The first Debian archive URI in the apt configuration under `etc_apt` (`/etc/apt`).
pub fn mirror_from_apt(etc_apt: &Path) -> Option<String> {
    let mut sources: Vec<_> = std::fs::read_dir(etc_apt.join("sources.list.d"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "sources"))
        .collect();
    sources.sort();
    for path in sources {
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        if let Some(uri) = uris_from_deb822(&text).into_iter().find(|u| is_debian(u)) {
            return Some(uri);
        }
    }
    let text = std::fs::read_to_string(etc_apt.join("sources.list")).unwrap_or_default();
    uris_from_one_line(&text).into_iter().find(|u| is_debian(u))
}

/// `URIs:` of the `deb` paragraphs of a deb822 sources file that are not disabled.
pub fn uris_from_deb822(text: &str) -> Vec<String> {
    let Ok(paragraphs) = deb822::parse(text, "apt sources") else {
        return Vec::new();
    };
    paragraphs
        .iter()
        .filter(|p| {
            p.get("Types")
                .is_some_and(|t| t.split_whitespace().any(|t| t == "deb"))
        })
        .filter(|p| p.get("Enabled").is_none_or(|e| e != "no"))
        .flat_map(|p| {
            p.get("URIs")
                .unwrap_or_default()
                .split_whitespace()
                .map(trim)
                .collect::<Vec<_>>()
        })
        .collect()
}

/// URIs of `deb` lines of a one-line `sources.list` (options in `[...]` are skipped).
pub fn uris_from_one_line(text: &str) -> Vec<String> {
    let mut uris = Vec::new();
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or_default().trim();
        let Some(rest) = line
            .strip_prefix("deb ")
            .or_else(|| line.strip_prefix("deb\t"))
        else {
            continue;
        };
        let mut rest = rest.trim_start();
        if rest.starts_with('[') {
            rest = rest
                .split_once(']')
                .map_or("", |(_, after)| after.trim_start());
        }
        if let Some(uri) = rest.split_whitespace().next() {
            uris.push(trim(uri));
        }
    }
    uris
}

/// A URI serving Debian's main archive: path ends in `/debian`, and is not the security or
/// ports archive (which carry other suites).
fn is_debian(uri: &str) -> bool {
    (uri.starts_with("http://") || uri.starts_with("https://") || uri.starts_with("file:"))
        && uri.ends_with("/debian")
}

fn trim(uri: &str) -> String {
    uri.trim().trim_end_matches('/').to_string()
}
