//! Signing keys, in the format of Nix's binary cache keys (`nix-store --generate-binary-cache-key`):
//! a secret key file holds one line `NAME:BASE64` of the 64-byte ed25519 keypair (seed then public
//! key), a public key file one line `NAME:BASE64` of the 32-byte public key, and a signature is
//! `NAME:BASE64` of the 64-byte ed25519 signature. The name says which trusted key to check a
//! signature with; it is not secret and carries no authority of its own.

use crate::error::{CacheError, CacheResult};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use ed25519_dalek::{Signer, Verifier};
use std::path::Path;

/// A named ed25519 signing key.
pub struct SecretKey {
    name: String,
    key: ed25519_dalek::SigningKey,
}

/// A named ed25519 public key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicKey {
    name: String,
    key: ed25519_dalek::VerifyingKey,
}

/// The keys whose signatures a consumer accepts (`trusted-public-keys`).
#[derive(Clone, Debug, Default)]
pub struct TrustedKeys(Vec<PublicKey>);

fn split_named<'a>(what: &'static str, text: &'a str) -> CacheResult<(&'a str, Vec<u8>)> {
    let bad = |reason: &str| CacheError::BadKey {
        what,
        // Never echo a secret key's text.
        text: if what == "secret" {
            "(the secret key file)".into()
        } else {
            text.to_string()
        },
        reason: reason.to_string(),
    };
    let (name, data) = text
        .trim()
        .split_once(':')
        .ok_or_else(|| bad("no `:` after the name"))?;
    if name.is_empty() || name.contains(char::is_whitespace) {
        return Err(bad("the name is empty or has spaces"));
    }
    let bytes = STANDARD
        .decode(data)
        .map_err(|_| bad("the key is not base64"))?;
    Ok((name, bytes))
}

impl SecretKey {
    /// A new random key named `name`.
    pub fn generate(name: &str) -> CacheResult<SecretKey> {
        if name.is_empty() || name.contains(|c: char| c == ':' || c.is_whitespace()) {
            return Err(CacheError::BadKey {
                what: "key",
                text: name.to_string(),
                reason: "a key name is not empty and has no `:` or spaces".into(),
            });
        }
        let key = ed25519_dalek::SigningKey::generate(&mut rand_core::OsRng);
        Ok(SecretKey {
            name: name.to_string(),
            key,
        })
    }

    pub fn parse(text: &str) -> CacheResult<SecretKey> {
        let (name, bytes) = split_named("secret", text)?;
        let bytes: [u8; 64] = bytes.try_into().map_err(|_| CacheError::BadKey {
            what: "secret",
            text: "(the secret key file)".into(),
            reason: "an ed25519 secret key is 64 bytes".into(),
        })?;
        let key = ed25519_dalek::SigningKey::from_keypair_bytes(&bytes).map_err(|_| {
            CacheError::BadKey {
                what: "secret",
                text: "(the secret key file)".into(),
                reason: "its public half does not match its seed".into(),
            }
        })?;
        Ok(SecretKey {
            name: name.to_string(),
            key,
        })
    }

    pub fn read(path: &Path) -> CacheResult<SecretKey> {
        let text = std::fs::read_to_string(path).map_err(CacheError::io("read", path))?;
        SecretKey::parse(&text)
    }

    /// The secret file's line.
    pub fn to_text(&self) -> String {
        format!(
            "{}:{}",
            self.name,
            STANDARD.encode(self.key.to_keypair_bytes())
        )
    }

    pub fn public(&self) -> PublicKey {
        PublicKey {
            name: self.name.clone(),
            key: self.key.verifying_key(),
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// `NAME:BASE64` of the signature of `message`.
    pub fn sign(&self, message: &[u8]) -> String {
        format!(
            "{}:{}",
            self.name,
            STANDARD.encode(self.key.sign(message).to_bytes())
        )
    }
}

impl PublicKey {
    pub fn parse(text: &str) -> CacheResult<PublicKey> {
        let (name, bytes) = split_named("public", text)?;
        let bad = |reason: &str| CacheError::BadKey {
            what: "public",
            text: text.to_string(),
            reason: reason.to_string(),
        };
        let bytes: [u8; 32] = bytes
            .try_into()
            .map_err(|_| bad("an ed25519 public key is 32 bytes"))?;
        let key = ed25519_dalek::VerifyingKey::from_bytes(&bytes)
            .map_err(|_| bad("not a valid ed25519 point"))?;
        Ok(PublicKey {
            name: name.to_string(),
            key,
        })
    }

    pub fn to_text(&self) -> String {
        format!("{}:{}", self.name, STANDARD.encode(self.key.to_bytes()))
    }

    pub fn name(&self) -> &str {
        &self.name
    }
}

impl TrustedKeys {
    /// Keys separated by white space, as Nix's `trusted-public-keys`.
    pub fn parse(text: &str) -> CacheResult<TrustedKeys> {
        text.split_whitespace()
            .map(PublicKey::parse)
            .collect::<CacheResult<_>>()
            .map(TrustedKeys)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn extend(&mut self, other: TrustedKeys) {
        self.0.extend(other.0);
    }

    /// The name of the trusted key that made `signature` (`NAME:BASE64`) over `message`, or why
    /// none did.
    pub fn check(&self, message: &[u8], signature: &str) -> Result<String, String> {
        let (name, data) = signature
            .split_once(':')
            .ok_or_else(|| "the signature is malformed".to_string())?;
        let key = self.0.iter().find(|k| k.name == name).ok_or_else(|| {
            format!("it is signed by `{name}`, which is not a trusted public key")
        })?;
        let bytes: [u8; 64] = STANDARD
            .decode(data)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| "the signature is malformed".to_string())?;
        key.key
            .verify(message, &ed25519_dalek::Signature::from_bytes(&bytes))
            .map(|()| name.to_string())
            .map_err(|_| format!("its signature does not match the trusted key `{name}`"))
    }
}

/// `kiln store keygen NAME SECRET PUBLIC`: writes a new key pair, the secret file readable by its
/// owner only; neither file is replaced if it exists.
pub fn keygen(name: &str, secret: &Path, public: &Path) -> CacheResult<PublicKey> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let key = SecretKey::generate(name)?;
    for path in [secret, public] {
        if path.exists() {
            return Err(CacheError::Io {
                action: "create",
                path: path.to_path_buf(),
                source: std::io::Error::new(std::io::ErrorKind::AlreadyExists, "it exists already"),
            });
        }
    }
    let write = |path: &Path, mode: u32, text: String| -> CacheResult<()> {
        let tmp = path.with_extension("tmp-keygen");
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&tmp)
            .map_err(CacheError::io("create", &tmp))?;
        file.write_all(format!("{text}\n").as_bytes())
            .and_then(|()| file.sync_all())
            .map_err(CacheError::io("write", &tmp))?;
        std::fs::rename(&tmp, path).map_err(CacheError::io("rename into place", path))
    };
    write(secret, 0o600, key.to_text())?;
    write(public, 0o644, key.public().to_text())?;
    Ok(key.public())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_and_check_round_trip() {
        let key = SecretKey::generate("test-1").unwrap();
        let parsed = SecretKey::parse(&key.to_text()).unwrap();
        let trusted = TrustedKeys::parse(&format!(
            "other:{} {}",
            STANDARD.encode([7u8; 32]),
            key.public().to_text()
        ));
        // [7; 32] may or may not be a valid point; use only the real key when it is not.
        let trusted =
            trusted.unwrap_or_else(|_| TrustedKeys::parse(&key.public().to_text()).unwrap());
        let signature = parsed.sign(b"hello");
        assert_eq!(
            trusted.check(b"hello", &signature),
            Ok("test-1".to_string())
        );
        assert!(trusted.check(b"hellp", &signature).is_err());
        let stranger = SecretKey::generate("test-1").unwrap();
        assert!(trusted.check(b"hello", &stranger.sign(b"hello")).is_err());
        let unnamed = SecretKey::generate("nobody").unwrap();
        assert!(trusted
            .check(b"hello", &unnamed.sign(b"hello"))
            .unwrap_err()
            .contains("not a trusted"));
    }

    #[test]
    fn bad_keys_are_diagnostics() {
        assert!(PublicKey::parse("no-colon").is_err());
        assert!(PublicKey::parse("n:!!!").is_err());
        assert!(PublicKey::parse("n:AAAA").is_err());
        let err = SecretKey::parse("n:AAAA").err().unwrap();
        assert!(
            !err.to_string().contains("AAAA"),
            "a secret key's text is never printed"
        );
    }
}
