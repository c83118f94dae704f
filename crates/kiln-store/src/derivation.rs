//! Derivations: what to build, from what, and how — and the id that names the result.
//!
//! A derivation is input-addressed: its id is the blake3 of a canonical encoding of its name,
//! builder, arguments, environment and its inputs' ids, so the same description always names
//! the same store entry, and any change to an input changes every id downstream. A
//! fixed-output derivation (a download with a known hash) is instead keyed by the hash it
//! promises, so two recipes for the same bytes share one entry.

use crate::digest::Digest;
use crate::store::EntryName;
use crate::StoreResult;
use std::collections::BTreeMap;

/// The id of a derivation: the blake3 of its canonical description.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DrvId(pub Digest);

/// A build step. Builders are named, not code: the store's caller registers them
/// (see [`crate::Builder`]), so the store stays ignorant of what is built.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Derivation {
    /// The entry's human name (`busybox-static-1.35.0`), checked like store names.
    pub name: String,
    /// The registered builder that realises it (`fetch`, `unpack-deb`, `initrd`, ...).
    pub builder: String,
    pub args: Vec<String>,
    pub env: BTreeMap<String, String>,
    /// Derivations whose outputs the builder reads, in the order it sees them.
    pub inputs: Vec<DrvId>,
    /// The version of the native builder's code (kiln-builders' table): a builder that makes
    /// different bytes from the same attributes gets a new version, and so new keys. 0 (the
    /// store's own cache entries) adds nothing to the id.
    pub builder_version: u32,
    /// For fixed outputs: a hash the fetched bytes must have, as `algo:hex` (checked by the
    /// builder, which knows the algorithm) — it replaces the description in the id.
    pub fixed_output: Option<String>,
}

impl Derivation {
    pub fn new(name: impl Into<String>, builder: impl Into<String>) -> Derivation {
        Derivation {
            name: name.into(),
            builder: builder.into(),
            args: Vec::new(),
            env: BTreeMap::new(),
            inputs: Vec::new(),
            builder_version: 0,
            fixed_output: None,
        }
    }

    /// The id. Fields are length-prefixed so no two descriptions encode alike.
    pub fn id(&self) -> DrvId {
        let mut hasher = blake3::Hasher::new();
        let mut field = |tag: &[u8], bytes: &[u8]| {
            hasher.update(tag);
            hasher.update(&(bytes.len() as u64).to_le_bytes());
            hasher.update(bytes);
        };
        if let Some(hash) = &self.fixed_output {
            field(b"kiln-fixed-1", b"");
            field(b"hash", hash.as_bytes());
            field(b"name", self.name.as_bytes());
        } else {
            field(b"kiln-drv-1", b"");
            field(b"name", self.name.as_bytes());
            field(b"builder", self.builder.as_bytes());
            if self.builder_version != 0 {
                field(b"builder-version", &self.builder_version.to_le_bytes());
            }
            for arg in &self.args {
                field(b"arg", arg.as_bytes());
            }
            for (key, value) in &self.env {
                field(b"env-key", key.as_bytes());
                field(b"env-value", value.as_bytes());
            }
            for input in &self.inputs {
                field(b"input", input.0.as_bytes());
            }
        }
        DrvId(Digest::from_hasher(&hasher))
    }

    /// The store entry this derivation's output is registered as.
    pub fn entry(&self) -> StoreResult<EntryName> {
        EntryName::new(&self.id().0, &self.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_depends_on_every_field() {
        let base = Derivation::new("a", "b");
        let mut variants = vec![base.clone()];
        let mut d = base.clone();
        d.name = "a2".into();
        variants.push(d);
        let mut d = base.clone();
        d.builder = "b2".into();
        variants.push(d);
        let mut d = base.clone();
        d.args = vec!["x".into()];
        variants.push(d);
        let mut d = base.clone();
        d.args = vec!["".into(), "x".into()];
        variants.push(d);
        let mut d = base.clone();
        d.env.insert("k".into(), "v".into());
        variants.push(d);
        let mut d = base.clone();
        d.inputs.push(base.id());
        variants.push(d);
        let mut d = base.clone();
        d.builder_version = 2;
        variants.push(d);
        let ids: std::collections::BTreeSet<_> = variants.iter().map(Derivation::id).collect();
        assert_eq!(ids.len(), variants.len());
    }

    #[test]
    fn fixed_output_ignores_the_recipe() {
        let mut a = Derivation::new("f.deb", "fetch");
        a.fixed_output = Some("sha256:00".into());
        let mut b = a.clone();
        b.args = vec!["http://elsewhere/f.deb".into()];
        assert_eq!(a.id(), b.id());
    }
}
