//! Binary package records from a `Packages` index, and the relation fields they carry
//! (`Depends`, `Pre-Depends`, `Provides`).
//!
//! Only the fields kiln needs are kept. A relation field is a comma-separated list of groups;
//! a group is `|`-separated alternatives; an alternative is `name[:arch] [(op version)]`,
//! possibly followed by `[arch list]` or `<build profiles>`, which binary indices do not use and
//! which are skipped.

use crate::deb822::{self, Paragraph};
use crate::error::{DebianError, DebianResult};
use crate::version::{Op, Version};
use std::fmt;

/// One binary package as the archive describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Package {
    pub name: String,
    pub version: Version,
    pub architecture: String,
    /// Path under the mirror root: `pool/main/b/busybox/busybox-static_1.35.0-4+b3_amd64.deb`.
    pub filename: String,
    pub size: u64,
    /// Lowercase hex.
    pub sha256: String,
    pub depends: Vec<Group>,
    pub pre_depends: Vec<Group>,
    pub provides: Vec<Relation>,
    pub essential: bool,
    /// `Priority` (`required`, `important`, `standard`, `optional`, ...), if given.
    pub priority: Option<String>,
    /// In KiB, as `Installed-Size` says.
    pub installed_size: Option<u64>,
    /// The source package's name (the package's own name when the field is absent).
    pub source: String,
}

/// Alternatives, the first satisfiable one wins: `mail-transport-agent | exim4`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Group(pub Vec<Relation>);

/// `name [(op version)]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Relation {
    pub name: String,
    pub constraint: Option<(Op, Version)>,
}

impl Relation {
    /// Whether a package or a `Provides` entry called `self.name` at `version` satisfies this
    /// relation. An unversioned `Provides` (`version` = `None`) satisfies only unversioned
    /// relations, as in dpkg.
    pub fn accepts(&self, version: Option<&Version>) -> bool {
        match (&self.constraint, version) {
            (None, _) => true,
            (Some((op, wanted)), Some(version)) => op.holds(version, wanted),
            (Some(_), None) => false,
        }
    }
}

impl fmt::Display for Relation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)?;
        if let Some((op, version)) = &self.constraint {
            write!(f, " ({op} {version})")?;
        }
        Ok(())
    }
}

impl fmt::Display for Group {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (idx, relation) in self.0.iter().enumerate() {
            if idx > 0 {
                f.write_str(" | ")?;
            }
            write!(f, "{relation}")?;
        }
        Ok(())
    }
}

/// Parses a relation field (`Depends`) into groups of alternatives.
pub fn parse_relations(text: &str) -> Result<Vec<Group>, String> {
    let mut groups = Vec::new();
    for group in text.split(',') {
        let group = group.trim();
        if group.is_empty() {
            continue;
        }
        let alternatives = group
            .split('|')
            .map(parse_relation)
            .collect::<Result<Vec<_>, _>>()?;
        groups.push(Group(alternatives));
    }
    Ok(groups)
}

/// Parses one `name[:arch] [(op version)] [arch list] [<profiles>]`.
pub fn parse_relation(text: &str) -> Result<Relation, String> {
    let text = text.trim();
    // Architecture lists and build profiles do not occur in binary indices; drop them.
    let text = text
        .find(['[', '<'])
        .filter(|&idx| !text[..idx].contains('('))
        .map_or(text, |idx| text[..idx].trim());
    let (name_part, constraint) = match text.split_once('(') {
        Some((name, rest)) => {
            let inner = rest
                .strip_suffix(')')
                .or_else(|| rest.split_once(')').map(|(inner, _)| inner))
                .ok_or_else(|| format!("unclosed `(` in `{text}`"))?
                .trim();
            let op_len = inner
                .find(|c: char| !"<>=".contains(c))
                .ok_or_else(|| format!("no version in `{text}`"))?;
            let op = Op::parse(&inner[..op_len])
                .ok_or_else(|| format!("unknown operator `{}` in `{text}`", &inner[..op_len]))?;
            let version = Version::parse(inner[op_len..].trim()).map_err(|e| e.to_string())?;
            (name.trim(), Some((op, version)))
        }
        None => (text, None),
    };
    // `:any` / `:native` / `:amd64` qualifiers: one architecture is indexed, so drop them.
    let name = name_part.split(':').next().unwrap_or(name_part).trim();
    if name.is_empty()
        || !name
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || b"+-.".contains(&c))
    {
        return Err(format!("`{name}` is not a package name"));
    }
    Ok(Relation {
        name: name.to_string(),
        constraint,
    })
}

/// Parses a whole `Packages` index. `what` names it in errors.
pub fn parse_packages(text: &str, what: &str) -> DebianResult<Vec<Package>> {
    deb822::parse(text, what)?
        .iter()
        .map(|p| package_from(p, what))
        .collect()
}

fn package_from(p: &Paragraph<'_>, what: &str) -> DebianResult<Package> {
    let error = |line: usize, message: String| DebianError::Parse {
        what: what.to_string(),
        line,
        message,
    };
    let required = |field: &str| {
        p.get(field)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| error(p.line, format!("the paragraph has no `{field}` field")))
    };
    let name = required("Package")?.to_string();
    let in_package = |message: String| error(p.line, format!("package `{name}`: {message}"));
    let version = Version::parse(required("Version")?).map_err(|e| in_package(e.to_string()))?;
    let number = |field: &str, text: &str| {
        text.parse::<u64>()
            .map_err(|_| in_package(format!("`{field}` is not a number: `{text}`")))
    };
    let size = number("Size", required("Size")?)?;
    let sha256 = required("SHA256")?.to_ascii_lowercase();
    if sha256.len() != 64 || !sha256.bytes().all(|c| c.is_ascii_hexdigit()) {
        return Err(in_package("`SHA256` is not a SHA-256 hash".into()));
    }
    let relations = |field: &str| {
        p.get(field)
            .map_or(Ok(Vec::new()), parse_relations)
            .map_err(|m| in_package(format!("`{field}`: {m}")))
    };
    let provides = relations("Provides")?
        .into_iter()
        .flat_map(|g| g.0)
        .collect();
    let installed_size = p
        .get("Installed-Size")
        .map(|v| number("Installed-Size", v))
        .transpose()?;
    let source = p
        .get("Source")
        .and_then(|s| s.split_whitespace().next())
        .unwrap_or(&name)
        .to_string();
    Ok(Package {
        version,
        architecture: required("Architecture")?.to_string(),
        filename: checked_filename(required("Filename")?).map_err(in_package)?,
        size,
        sha256,
        depends: relations("Depends")?,
        pre_depends: relations("Pre-Depends")?,
        provides,
        essential: p
            .get("Essential")
            .is_some_and(|v| v.eq_ignore_ascii_case("yes")),
        priority: p.get("Priority").map(|v| v.trim().to_string()),
        installed_size,
        source,
        name,
    })
}

/// A pool path must stay under the mirror root: relative, no `..`, no odd characters.
pub(crate) fn checked_filename(filename: &str) -> Result<String, String> {
    let ok = !filename.starts_with('/')
        && filename.ends_with(".deb")
        && filename
            .split('/')
            .all(|c| !c.is_empty() && c != "." && c != "..")
        && filename
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || b"+-._~%/:".contains(&c));
    if ok {
        Ok(filename.to_string())
    } else {
        Err(format!("`{filename}` is not a safe pool path"))
    }
}
