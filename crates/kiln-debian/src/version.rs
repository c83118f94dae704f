//! Debian versions and their order, exactly as dpkg compares them.
//!
//! A version is `[epoch:]upstream[-revision]`. Epochs compare as numbers; upstream and revision
//! compare with dpkg's `verrevcmp`: alternating runs of non-digits (compared character by
//! character, letters before other characters, `~` before everything, even the end) and runs of
//! digits (compared as numbers). So `1.0~rc1 < 1.0 < 1.0+b1`, and `1.0 = 1.0-0 = 0:1.0`.

use crate::error::{DebianError, DebianResult};
use std::cmp::Ordering;
use std::fmt;

/// A parsed Debian version. Equality follows dpkg's order (`1.0 == 0:1.0-0`); the original
/// spelling is kept for display and for the lockfile.
#[derive(Clone, Debug)]
pub struct Version {
    text: String,
    epoch: u64,
    /// Byte ranges of upstream and revision in `text`.
    upstream: (usize, usize),
    revision: (usize, usize),
}

impl Version {
    /// Parses a version as dpkg does: the epoch is the digits before the first `:`, the
    /// revision is what follows the last `-`.
    pub fn parse(text: &str) -> DebianResult<Version> {
        let bad = |reason: &str| DebianError::BadVersion {
            version: text.to_string(),
            reason: reason.to_string(),
        };
        if text.is_empty() {
            return Err(bad("it is empty"));
        }
        if let Some(c) = text
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || ".+~-:".contains(*c)))
        {
            return Err(bad(&format!("`{c}` is not allowed in versions")));
        }
        let (epoch, upstream_start) = match text.find(':') {
            Some(colon) => {
                let digits = &text[..colon];
                if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(bad("the epoch is not a number"));
                }
                let epoch = digits.parse().map_err(|_| bad("the epoch is too large"))?;
                (epoch, colon + 1)
            }
            None => (0, 0),
        };
        let (upstream, revision) = match text[upstream_start..].rfind('-') {
            Some(dash) => {
                let dash = upstream_start + dash;
                ((upstream_start, dash), (dash + 1, text.len()))
            }
            None => ((upstream_start, text.len()), (text.len(), text.len())),
        };
        if upstream.0 == upstream.1 {
            return Err(bad("the upstream part is empty"));
        }
        if text[revision.0..revision.1].contains(':') {
            return Err(bad("the revision contains `:`"));
        }
        Ok(Version {
            text: text.to_string(),
            epoch,
            upstream,
            revision,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    pub fn upstream(&self) -> &str {
        &self.text[self.upstream.0..self.upstream.1]
    }

    /// The Debian revision; empty when the version has none.
    pub fn revision(&self) -> &str {
        &self.text[self.revision.0..self.revision.1]
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl std::str::FromStr for Version {
    type Err = DebianError;
    fn from_str(s: &str) -> DebianResult<Version> {
        Version::parse(s)
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Version) -> Ordering {
        self.epoch
            .cmp(&other.epoch)
            .then_with(|| verrevcmp(self.upstream().as_bytes(), other.upstream().as_bytes()))
            .then_with(|| verrevcmp(self.revision().as_bytes(), other.revision().as_bytes()))
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Version) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Version {
    fn eq(&self, other: &Version) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Version {}

/// dpkg's character weight in non-digit runs; 0 stands for the end of the string.
fn order(c: Option<u8>) -> i32 {
    match c {
        None => 0,
        Some(c) if c.is_ascii_digit() => 0,
        Some(c) if c.is_ascii_alphabetic() => i32::from(c),
        Some(b'~') => -1,
        Some(c) => i32::from(c) + 256,
    }
}

/// dpkg's `verrevcmp` (lib/dpkg/version.c), on byte strings.
fn verrevcmp(a: &[u8], b: &[u8]) -> Ordering {
    let (mut i, mut j) = (0, 0);
    let at = |s: &[u8], k: usize| s.get(k).copied();
    let is_digit = |c: Option<u8>| c.is_some_and(|c| c.is_ascii_digit());
    while i < a.len() || j < b.len() {
        while (i < a.len() && !is_digit(at(a, i))) || (j < b.len() && !is_digit(at(b, j))) {
            let (ac, bc) = (order(at(a, i)), order(at(b, j)));
            if ac != bc {
                return ac.cmp(&bc);
            }
            i += 1;
            j += 1;
        }
        while at(a, i) == Some(b'0') {
            i += 1;
        }
        while at(b, j) == Some(b'0') {
            j += 1;
        }
        let mut first_diff = Ordering::Equal;
        while is_digit(at(a, i)) && is_digit(at(b, j)) {
            if first_diff == Ordering::Equal {
                first_diff = at(a, i).cmp(&at(b, j));
            }
            i += 1;
            j += 1;
        }
        if is_digit(at(a, i)) {
            return Ordering::Greater;
        }
        if is_digit(at(b, j)) {
            return Ordering::Less;
        }
        if first_diff != Ordering::Equal {
            return first_diff;
        }
    }
    Ordering::Equal
}

/// A version constraint's operator, as written in `Depends` (`<<`, `<=`, `=`, `>=`, `>>`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Op {
    Earlier,
    EarlierEqual,
    Equal,
    LaterEqual,
    Later,
}

impl Op {
    /// Parses an operator; the obsolete `<` and `>` mean `<=` and `>=`, as in dpkg.
    pub fn parse(text: &str) -> Option<Op> {
        Some(match text {
            "<<" => Op::Earlier,
            "<=" | "<" => Op::EarlierEqual,
            "=" => Op::Equal,
            ">=" | ">" => Op::LaterEqual,
            ">>" => Op::Later,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Op::Earlier => "<<",
            Op::EarlierEqual => "<=",
            Op::Equal => "=",
            Op::LaterEqual => ">=",
            Op::Later => ">>",
        }
    }

    /// Whether `version <op> wanted` holds.
    pub fn holds(self, version: &Version, wanted: &Version) -> bool {
        let ord = version.cmp(wanted);
        match self {
            Op::Earlier => ord == Ordering::Less,
            Op::EarlierEqual => ord != Ordering::Greater,
            Op::Equal => ord == Ordering::Equal,
            Op::LaterEqual => ord != Ordering::Less,
            Op::Later => ord == Ordering::Greater,
        }
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
