//! The `sign-modules` builder: out-of-tree kernel modules signed for a kernel that checks
//! signatures (Secure Boot's lockdown), as DKMS signs them on Debian.
//!
//! # Contract
//!
//! The derivation's attributes (see [`SignInputs`]):
//!
//! - `modules`: a module package (a `kbuild-module` output): `lib/modules/<modDirVersion>/**.ko`
//!   and whatever else it holds (`etc/modprobe.d`).
//! - `root`: the kbuild root of the `kbuild-module` builder: the kernel's headers, whose
//!   `scripts/sign-file` (from `linux-kbuild-<x.y>`) signs, with the OpenSSL library it needs.
//! - `key`, `certificate`: the signing key (PEM) and its X.509 certificate (PEM or DER), files
//!   in the store.
//! - `hashAlgorithm`: `sha256`, `sha384` or `sha512`.
//! - `modDirVersion`: the kernel release.
//!
//! The output is the package with every `.ko` signed (an appended PKCS#7 signature, what the
//! kernel's `module_sig_check` reads), and `share/kiln/module-signing.der`: the certificate in
//! DER, the form `mokutil --import` takes. The key reaches nothing but `sign-file`'s input:
//! it is bound read-only into the sandbox, never copied into the output.
//!
//! # Reproducible
//!
//! `sign-file` makes a CMS signature without attributes (no signing time); with an RSA key
//! (PKCS#1 v1.5) the same module, key and hash give the same bytes. ECDSA signatures are
//! randomised, so such a key makes the step unreproducible: the builder refuses keys that
//! are not RSA.

use crate::error::BuilderError;
use crate::kbuild::{copy_tree, io_error, set_mode};
use crate::modules::ModDirVersion;
use crate::sandbox::Sandbox;
use base64::Engine;
use kiln_store::inputs::{self, StorePath};
use kiln_store::{BuildError, Builder, Derivation, Events};
use serde::Deserialize;
use std::fs;
use std::path::{Path, PathBuf};

pub(crate) const SIGN_MODULES: &str = "sign-modules";

/// What `sign-modules` reads (see the module documentation).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SignInputs {
    modules: StorePath,
    root: StorePath,
    key: StorePath,
    certificate: StorePath,
    hash_algorithm: HashAlgorithm,
    mod_dir_version: ModDirVersion,
}

#[derive(Clone, Copy, Deserialize)]
#[serde(rename_all = "lowercase")]
enum HashAlgorithm {
    Sha256,
    Sha384,
    Sha512,
}

impl HashAlgorithm {
    fn name(self) -> &'static str {
        match self {
            HashAlgorithm::Sha256 => "sha256",
            HashAlgorithm::Sha384 => "sha384",
            HashAlgorithm::Sha512 => "sha512",
        }
    }
}

#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct SignModules;

impl Builder for SignModules {
    fn check(&self, drv: &Derivation, inputs: &[PathBuf]) -> Result<(), BuildError> {
        inputs::check::<SignInputs>(drv, inputs).map_err(BuildError::new)?;
        Ok(())
    }

    fn build(
        &self,
        drv: &Derivation,
        inputs: &[PathBuf],
        out: &Path,
        _events: &dyn Events,
    ) -> Result<(), BuildError> {
        let inputs: SignInputs = inputs::parse(drv, inputs).map_err(BuildError::new)?;
        sign(&inputs, out).map_err(|message| {
            BuilderError::SignModules {
                name: drv.name.clone(),
                message,
            }
            .into()
        })
    }
}

fn sign(inputs: &SignInputs, out: &Path) -> Result<(), String> {
    let version = inputs.mod_dir_version.as_str();
    let key = inputs.key.path();
    let certificate = inputs.certificate.path();
    let key_text = fs::read_to_string(key).map_err(|e| io_error("read", key, &e))?;
    check_rsa_key(&key_text)?;
    let der =
        certificate_der(&fs::read(certificate).map_err(|e| io_error("read", certificate, &e))?)?;

    let sign_file = format!("/usr/src/linux-headers-{version}/scripts/sign-file");
    if !inputs.root.path().join(&sign_file[1..]).exists() {
        return Err(format!(
            "`root` has no `{sign_file}`: the kernel's header packages (with linux-kbuild) belong in it"
        ));
    }

    // Everything is signed in a scratch copy before `out` exists: a failure leaves nothing.
    let scratch = out
        .parent()
        .map_or_else(tempfile::tempdir, tempfile::tempdir_in)
        .map_err(|e| format!("cannot create a scratch directory: {e}"))?;
    let tree = scratch.path().join("tree");
    copy_tree(inputs.modules.path(), &tree)?;
    let modules_dir = tree.join("lib/modules").join(version);
    let mut modules = Vec::new();
    find_modules(&modules_dir, &mut modules)?;
    if modules.is_empty() {
        return Err(format!(
            "`modules` has no `.ko` under `lib/modules/{version}`: nothing to sign"
        ));
    }
    modules.sort();

    let log = scratch.path().join("sign.log");
    let sandbox = Sandbox::new(inputs.root.path(), false)
        .map_err(|e| e.to_string())?
        .bind(&tree, "/tmp/sign")
        .ro_bind(key, "/run/kiln/signing-key.pem")
        .ro_bind(certificate, "/run/kiln/signing-certificate");
    for module in &modules {
        let rel = module.strip_prefix(&tree).expect("found under the tree");
        let inside = format!("/tmp/sign/{}", rel.display());
        sandbox
            .run(
                &[
                    &sign_file,
                    inputs.hash_algorithm.name(),
                    "/run/kiln/signing-key.pem",
                    "/run/kiln/signing-certificate",
                    &inside,
                ],
                &format!("sign-file {}", rel.display()),
                &log,
            )
            .map_err(|e| e.to_string())?;
        set_mode(module, 0o444)?;
    }

    let share = tree.join("share/kiln");
    fs::create_dir_all(&share).map_err(|e| io_error("create", &share, &e))?;
    let der_path = share.join("module-signing.der");
    fs::write(&der_path, der).map_err(|e| io_error("write", &der_path, &e))?;
    set_mode(&der_path, 0o444)?;
    fs::rename(&tree, out).map_err(|e| io_error("move into place", out, &e))
}

fn find_modules(dir: &Path, found: &mut Vec<PathBuf>) -> Result<(), String> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Ok(());
    };
    for entry in entries {
        let entry = entry.map_err(|e| io_error("list", dir, &e))?;
        let path = entry.path();
        let kind = entry.file_type().map_err(|e| io_error("stat", &path, &e))?;
        if kind.is_dir() {
            find_modules(&path, found)?;
        } else if kind.is_file() && path.extension().is_some_and(|e| e == "ko") {
            found.push(path);
        }
    }
    Ok(())
}

/// Refuses what `sign-file` would sign unreproducibly (ECDSA) or not at all (an encrypted key
/// would wait for a pass phrase).
fn check_rsa_key(pem: &str) -> Result<(), String> {
    if pem.contains("ENCRYPTED") {
        return Err("`boot.moduleSigning.key` is encrypted: kiln signs without a pass phrase, so the key must be unencrypted (it stays in the store, never on the image)".into());
    }
    if pem.contains("-----BEGIN EC PRIVATE KEY-----") {
        return Err("`boot.moduleSigning.key` is an EC key: its signatures are randomised, so the modules would differ on every build; use an RSA key (`openssl req -new -x509 -newkey rsa:4096 -nodes ...`)".into());
    }
    if pem.contains("-----BEGIN RSA PRIVATE KEY-----") {
        return Ok(());
    }
    let body = pem_body(pem, "PRIVATE KEY").ok_or(
        "`boot.moduleSigning.key` is not a PEM private key (`-----BEGIN PRIVATE KEY-----`)",
    )?;
    // PKCS#8 names its algorithm by OID; rsaEncryption is 1.2.840.113549.1.1.1.
    const RSA_OID: &[u8] = &[
        0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01,
    ];
    if body.windows(RSA_OID.len()).take(64).any(|w| w == RSA_OID) {
        Ok(())
    } else {
        Err("`boot.moduleSigning.key` is not an RSA key: other algorithms sign with random numbers, so the modules would differ on every build; use an RSA key".into())
    }
}

/// The certificate in DER: as given, or decoded from PEM.
fn certificate_der(bytes: &[u8]) -> Result<Vec<u8>, String> {
    // DER: a SEQUENCE with a long length.
    if bytes.first() == Some(&0x30) {
        return Ok(bytes.to_vec());
    }
    let text = std::str::from_utf8(bytes)
        .map_err(|_| "`boot.moduleSigning.certificate` is neither DER nor PEM".to_string())?;
    pem_body(text, "CERTIFICATE").ok_or_else(|| {
        "`boot.moduleSigning.certificate` is not an X.509 certificate (PEM `-----BEGIN CERTIFICATE-----` or DER)".to_string()
    })
}

/// The decoded body of the first `-----BEGIN <label>-----` block.
fn pem_body(text: &str, label: &str) -> Option<Vec<u8>> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let start = text.find(&begin)? + begin.len();
    let stop = start + text[start..].find(&end)?;
    let b64: String = text[start..stop]
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    base64::engine::general_purpose::STANDARD.decode(b64).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = include_str!("../../../tests/image/keys/module-signing-test.key");
    const CERT: &str = include_str!("../../../tests/image/keys/module-signing-test.crt");

    #[test]
    fn takes_the_test_key_and_both_certificate_forms() {
        check_rsa_key(KEY).unwrap();
        let der = certificate_der(CERT.as_bytes()).unwrap();
        assert_eq!(der[0], 0x30);
        assert_eq!(certificate_der(&der).unwrap(), der);
    }

    #[test]
    fn refuses_keys_it_cannot_sign_reproducibly() {
        let ec = "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEE\n-----END EC PRIVATE KEY-----\n";
        assert!(check_rsa_key(ec).unwrap_err().contains("EC key"));
        let encrypted =
            "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIF\n-----END ENCRYPTED PRIVATE KEY-----\n";
        assert!(check_rsa_key(encrypted).unwrap_err().contains("encrypted"));
        assert!(check_rsa_key("hello").unwrap_err().contains("not a PEM"));
        assert!(certificate_der(b"hello")
            .unwrap_err()
            .contains("not an X.509"));
    }
}
