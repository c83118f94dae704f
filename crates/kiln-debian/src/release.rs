//! Archive trust: the signed `InRelease` file, checked with `gpgv`, and the hashes it lists.
//!
//! Why `gpgv` and not a Rust OpenPGP crate: `gpgv` is what apt itself runs to verify the same
//! file, it is on every Debian host (apt depends on it), it verifies against a plain keyring
//! without any GnuPG state, and it keeps a large OpenPGP stack (sequoia or pgp with their
//! crypto backends) out of kiln's build. We call it with `--output -` so that only the bytes
//! the signature covers come back, and only those are parsed: text outside the signed part
//! of a tampered file can never reach the parser.

use crate::deb822;
use crate::error::{DebianError, DebianResult};
use sha2::{Digest as _, Sha256};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};

/// The verified contents of an `InRelease` file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Release {
    /// SHA-256 of the whole signed `InRelease` file; the lockfile pins it.
    pub inrelease_sha256: String,
    pub suite: String,
    pub codename: String,
    pub date: String,
    /// `main/binary-amd64/Packages.xz` → its size and SHA-256, from the `SHA256` field.
    pub files: BTreeMap<String, FileHash>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileHash {
    pub size: u64,
    pub sha256: String,
}

impl Release {
    /// The size and hash of `path` (relative to `dists/<suite>/`), or an error if unlisted.
    pub fn file(&self, path: &str) -> DebianResult<&FileHash> {
        self.files
            .get(path)
            .ok_or_else(|| DebianError::NotInRelease {
                path: path.to_string(),
            })
    }
}

/// Verifies `inrelease` (the raw file) against `keyring` with `gpgv` and parses the signed text.
pub fn verify_inrelease(inrelease: &[u8], keyring: &Path, what: &str) -> DebianResult<Release> {
    let signed = gpgv(inrelease, keyring, what)?;
    let text = String::from_utf8(signed).map_err(|_| DebianError::Parse {
        what: what.to_string(),
        line: 0,
        message: "the signed text is not UTF-8".into(),
    })?;
    parse_release(&text, &sha256_hex(inrelease), what)
}

/// Parses the (already verified) text of a `Release` file.
pub fn parse_release(text: &str, inrelease_sha256: &str, what: &str) -> DebianResult<Release> {
    let paragraphs = deb822::parse(text, what)?;
    let error = |message: &str| DebianError::Parse {
        what: what.to_string(),
        line: 1,
        message: message.to_string(),
    };
    let [paragraph] = paragraphs.as_slice() else {
        return Err(error("expected exactly one paragraph"));
    };
    let field = |name: &str| paragraph.get(name).unwrap_or_default().to_string();
    let hashes = paragraph
        .get("SHA256")
        .ok_or_else(|| error("no `SHA256` field"))?;
    let mut files = BTreeMap::new();
    for line in hashes.lines().filter(|l| !l.trim().is_empty()) {
        let parts: Vec<&str> = line.split_whitespace().collect();
        let [hash, size, path] = parts.as_slice() else {
            return Err(error(&format!("bad `SHA256` line `{line}`")));
        };
        let size = size
            .parse()
            .map_err(|_| error(&format!("bad size in `{line}`")))?;
        files.insert(
            path.to_string(),
            FileHash {
                size,
                sha256: hash.to_ascii_lowercase(),
            },
        );
    }
    Ok(Release {
        inrelease_sha256: inrelease_sha256.to_string(),
        suite: field("Suite"),
        codename: field("Codename"),
        date: field("Date"),
        files,
    })
}

pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::new(), |mut out, b| {
        let _ = write!(out, "{b:02x}");
        out
    })
}

static TMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// Runs `gpgv --keyring KEYRING --output - FILE` in a private home directory and returns the
/// signed bytes. Any failure to verify is `BadSignature`.
fn gpgv(signed: &[u8], keyring: &Path, what: &str) -> DebianResult<Vec<u8>> {
    if !keyring.is_file() {
        return Err(DebianError::NoKeyring {
            path: keyring.to_path_buf(),
        });
    }
    let keyring = std::path::absolute(keyring).map_err(DebianError::io("resolve", keyring))?;
    let dir = std::env::temp_dir().join(format!(
        "kiln-gpgv-{}-{}",
        std::process::id(),
        TMP_COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).map_err(DebianError::io("create", &dir))?;
    let result = run_gpgv(signed, &keyring, &dir, what);
    let _ = std::fs::remove_dir_all(&dir);
    result
}

fn run_gpgv(signed: &[u8], keyring: &Path, dir: &Path, what: &str) -> DebianResult<Vec<u8>> {
    let input = dir.join("InRelease");
    std::fs::write(&input, signed).map_err(DebianError::io("write", &input))?;
    let output = Command::new("gpgv")
        .arg("--homedir")
        .arg(dir)
        .arg("--keyring")
        .arg(keyring)
        .arg("--output")
        .arg("-")
        .arg(&input)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| DebianError::GpgvMissing {
            message: e.to_string(),
        })?;
    if !output.status.success() || output.stdout.is_empty() {
        return Err(DebianError::BadSignature {
            what: what.to_string(),
            keyring: keyring.to_path_buf(),
            gpgv_output: String::from_utf8_lossy(&output.stderr).trim().to_string(),
        });
    }
    Ok(output.stdout)
}
