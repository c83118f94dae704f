//! The signed manifest of a cached entry, and where a cache keeps its objects.
//!
//! ```text
//! <prefix>/archives/<blake3 hex of the compressed archive>.kar.zst
//! <prefix>/manifests/<class>/<entry>              e.g. manifests/user/0abc…-busybox
//! ```
//!
//! An archive is named by its own hash, so two uploads of one entry (by two machines whose
//! archives differ, say) never overwrite each other's bytes under a manifest that describes the
//! other, and an interrupted upload leaves at most an archive no manifest names. The manifest is
//! written last: an entry is visible to consumers exactly when its manifest exists.
//!
//! A manifest is text, one field a line, in this order:
//!
//! ```text
//! kiln-cache-manifest 1
//! entry <entry name: the blake3 key in base-32, a dash, the name>
//! class root|user                       who built it: root, or an unprivileged user
//! content blake3:<hex>                  hash of the uncompressed archive (`archive.rs`)
//! content-size <bytes>
//! archive archives/<hex>.kar.zst
//! archive-hash blake3:<hex>             hash of the compressed object
//! archive-size <bytes>
//! reference <entry>                     one per reference, in the store's order
//! built-by <user>@<host>, kiln <version>
//! signature <key name>:<base64>         ed25519 over every byte before this line
//! ```
//!
//! The class is part of the path and of the signed text, so a manifest cannot be replayed
//! under the other class: an entry built as root may differ from the same step built without
//! (see `archive.rs`), and a consumer takes only its own class.

use crate::keys::{SecretKey, TrustedKeys};
use kiln_store::{Digest, EntryName};

/// Who built an entry: the bytes of a few steps depend on it, though no key says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BuilderClass {
    Root,
    User,
}

impl BuilderClass {
    /// This process's class.
    pub fn current() -> BuilderClass {
        if rustix::process::geteuid().is_root() {
            BuilderClass::Root
        } else {
            BuilderClass::User
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            BuilderClass::Root => "root",
            BuilderClass::User => "user",
        }
    }

    fn parse(text: &str) -> Option<BuilderClass> {
        match text {
            "root" => Some(BuilderClass::Root),
            "user" => Some(BuilderClass::User),
            _ => None,
        }
    }
}

/// A cached entry's description.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Manifest {
    pub entry: EntryName,
    pub class: BuilderClass,
    pub content: Digest,
    pub content_size: u64,
    /// The archive's object path, relative to the cache's prefix.
    pub archive: String,
    pub archive_hash: Digest,
    pub archive_size: u64,
    pub references: Vec<EntryName>,
    pub built_by: String,
}

/// A manifest's object path, relative to the cache's prefix.
pub(crate) fn manifest_path(class: BuilderClass, entry: &EntryName) -> String {
    format!("manifests/{}/{}", class.as_str(), entry.as_str())
}

/// An archive's object path, relative to the cache's prefix.
pub(crate) fn archive_path(archive_hash: &Digest) -> String {
    format!("archives/{}.kar.zst", archive_hash.to_hex())
}

impl Manifest {
    /// The text without its signature line: what is signed.
    fn unsigned_text(&self) -> String {
        let mut out = format!(
            "kiln-cache-manifest 1\nentry {}\nclass {}\ncontent {}\ncontent-size {}\narchive {}\narchive-hash {}\narchive-size {}\n",
            self.entry,
            self.class.as_str(),
            self.content,
            self.content_size,
            self.archive,
            self.archive_hash,
            self.archive_size
        );
        for reference in &self.references {
            out.push_str(&format!("reference {reference}\n"));
        }
        out.push_str(&format!("built-by {}\n", self.built_by.replace('\n', " ")));
        out
    }

    /// The signed text, as uploaded.
    pub fn sign(&self, key: &SecretKey) -> String {
        let text = self.unsigned_text();
        let signature = key.sign(text.as_bytes());
        format!("{text}signature {signature}\n")
    }

    /// Parses a downloaded manifest and checks its signature against `trusted`; the key name
    /// that signed it, or why it is refused.
    pub fn parse_verified(text: &str, trusted: &TrustedKeys) -> Result<(Manifest, String), String> {
        let at = text
            .rfind("signature ")
            .filter(|&at| at == 0 || text.as_bytes()[at - 1] == b'\n')
            .ok_or_else(|| "the manifest is not signed".to_string())?;
        let (body, signature) = text.split_at(at);
        let signature = signature
            .strip_prefix("signature ")
            .and_then(|s| s.strip_suffix('\n'))
            .filter(|s| !s.contains('\n'))
            .ok_or_else(|| "the signature line is malformed".to_string())?;
        let signer = trusted.check(body.as_bytes(), signature)?;
        let manifest = Manifest::parse_body(body)?;
        if manifest.unsigned_text() != body {
            return Err("the manifest is not in canonical form".into());
        }
        Ok((manifest, signer))
    }

    /// Parses a manifest without checking its signature (for listing a cache).
    pub fn parse_unverified(text: &str) -> Result<(Manifest, Option<String>), String> {
        let (body, signer) = match text.rfind("signature ") {
            Some(at) => {
                let signer = text[at + "signature ".len()..]
                    .split(':')
                    .next()
                    .map(str::to_string);
                (&text[..at], signer)
            }
            None => (text, None),
        };
        Manifest::parse_body(body).map(|m| (m, signer))
    }

    fn parse_body(body: &str) -> Result<Manifest, String> {
        let mut lines = body.lines();
        if lines.next() != Some("kiln-cache-manifest 1") {
            return Err("not a kiln-cache-manifest 1".into());
        }
        let mut fields: Vec<(&str, &str)> = Vec::new();
        for line in lines {
            let (key, value) = line
                .split_once(' ')
                .ok_or_else(|| format!("the line `{line}` is malformed"))?;
            fields.push((key, value));
        }
        let one = |name: &str| -> Result<&str, String> {
            let mut found = fields.iter().filter(|(k, _)| *k == name).map(|(_, v)| *v);
            match (found.next(), found.next()) {
                (Some(v), None) => Ok(v),
                _ => Err(format!("it needs exactly one `{name}` line")),
            }
        };
        let digest = |name: &str| -> Result<Digest, String> {
            one(name)?
                .strip_prefix("blake3:")
                .and_then(Digest::from_hex)
                .ok_or_else(|| format!("`{name}` is not a blake3 hash"))
        };
        let number = |name: &str| -> Result<u64, String> {
            one(name)?
                .parse()
                .map_err(|_| format!("`{name}` is not a number"))
        };
        let entry_name = |text: &str| EntryName::parse(text).map_err(|e| e.to_string());
        Ok(Manifest {
            entry: entry_name(one("entry")?)?,
            class: BuilderClass::parse(one("class")?).ok_or("`class` is neither root nor user")?,
            content: digest("content")?,
            content_size: number("content-size")?,
            archive: one("archive")?.to_string(),
            archive_hash: digest("archive-hash")?,
            archive_size: number("archive-size")?,
            references: fields
                .iter()
                .filter(|(k, _)| *k == "reference")
                .map(|(_, v)| entry_name(v))
                .collect::<Result<_, _>>()?,
            built_by: one("built-by")?.to_string(),
        })
    }
}

/// `user@host, kiln VERSION`: who built an entry, for people reading a cache.
pub(crate) fn built_by() -> String {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| format!("uid {}", rustix::process::geteuid().as_raw()));
    let host = rustix::system::uname()
        .nodename()
        .to_string_lossy()
        .into_owned();
    format!("{user}@{host}, kiln {}", env!("CARGO_PKG_VERSION"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Manifest {
        let entry = EntryName::new(&Digest::of(b"k"), "busybox").unwrap();
        Manifest {
            references: vec![EntryName::new(&Digest::of(b"r"), "libc").unwrap()],
            entry,
            class: BuilderClass::User,
            content: Digest::of(b"c"),
            content_size: 10,
            archive: archive_path(&Digest::of(b"a")),
            archive_hash: Digest::of(b"a"),
            archive_size: 5,
            built_by: "me@here, kiln 0".into(),
        }
    }

    #[test]
    fn signed_manifests_round_trip_and_tampering_is_refused() {
        let key = SecretKey::generate("cache-1").unwrap();
        let trusted = TrustedKeys::parse(&key.public().to_text()).unwrap();
        let text = sample().sign(&key);
        let (parsed, signer) = Manifest::parse_verified(&text, &trusted).unwrap();
        assert_eq!((parsed, signer.as_str()), (sample(), "cache-1"));
        let tampered = text.replace("content-size 10", "content-size 11");
        assert!(Manifest::parse_verified(&tampered, &trusted)
            .unwrap_err()
            .contains("does not match"));
        let replayed = text.replace("class user", "class root");
        assert!(Manifest::parse_verified(&replayed, &trusted).is_err());
        let other = SecretKey::generate("other").unwrap();
        assert!(Manifest::parse_verified(&sample().sign(&other), &trusted)
            .unwrap_err()
            .contains("not a trusted public key"));
        assert!(Manifest::parse_verified("kiln-cache-manifest 1\n", &trusted).is_err());
    }
}
