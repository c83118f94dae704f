//! Builtins of the `hash` family: `hashString` and `hashFile` with the digest algorithms Nix 2.8
//! accepts, printed in base16, and `placeholder`, whose output is Nix's base-32 of a SHA-256.
//!
//! The digests come from the RustCrypto crates; only the algorithm names and the lowercase hex
//! output are Nix's.

use md5::Md5;

use super::context::force_string_no_context;
use super::Builtin;
use crate::{EvalError, EvalResult, Evaluator, Value};
use sha1::Sha1;
use sha2::{Digest, Sha256, Sha512};

/// A hash algorithm name that Nix does not know, as in "unknown hash algorithm 'foo'".
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct UnknownHashAlgorithm(pub(crate) String);

/// The lowercase hex digest of `data` under the algorithm called `algo`.
pub(crate) fn hash_string(algo: &str, data: &[u8]) -> Result<String, UnknownHashAlgorithm> {
    let digest = match algo {
        "md5" => Md5::digest(data).to_vec(),
        "sha1" => Sha1::digest(data).to_vec(),
        "sha256" => Sha256::digest(data).to_vec(),
        "sha512" => Sha512::digest(data).to_vec(),
        _ => return Err(UnknownHashAlgorithm(algo.to_owned())),
    };
    Ok(digest.iter().map(|b| format!("{b:02x}")).collect())
}

pub(crate) const BUILTINS: &[Builtin] = &[
    Builtin {
        name: "hashString",
        arity: 2,
        func: hash_string_builtin,
    },
    Builtin {
        name: "hashFile",
        arity: 2,
        func: hash_file,
    },
    Builtin {
        name: "placeholder",
        arity: 1,
        func: placeholder,
    },
];

fn hash_string_builtin(ev: &mut Evaluator, args: &[Value]) -> EvalResult<Value> {
    let algo = force_string_no_context(ev, &args[0])?;
    let data = ev.force_string(&args[1])?;
    hash_string(algo.as_str(), data.as_str().as_bytes())
        .map(Value::string)
        .map_err(|e| {
            EvalError::invalid_argument("hashString", format!("unknown hash algorithm '{}'", e.0))
        })
}

fn hash_file(ev: &mut Evaluator, args: &[Value]) -> EvalResult<Value> {
    let algo = force_string_no_context(ev, &args[0])?;
    let path = ev.realise_path(&args[1])?;
    let data = ev
        .loader()
        .read_file(std::path::Path::new(&path))
        .map_err(|e| super::io::io_error("opening file", &path, &e))?;
    hash_string(algo.as_str(), &data)
        .map(Value::string)
        .map_err(|e| {
            EvalError::invalid_argument("hashFile", format!("unknown hash algorithm '{}'", e.0))
        })
}

/// `builtins.placeholder output`: `/` and the base-32 SHA-256 of `nix-output:<output>`.
fn placeholder(ev: &mut Evaluator, args: &[Value]) -> EvalResult<Value> {
    let output = force_string_no_context(ev, &args[0])?;
    let digest = Sha256::digest(format!("nix-output:{}", output.as_str()).as_bytes());
    Ok(Value::string(format!(
        "/{}",
        nix_base32::to_nix_base32(&digest)
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_digests() {
        assert_eq!(
            hash_string("md5", b"").unwrap(),
            "d41d8cd98f00b204e9800998ecf8427e"
        );
        assert_eq!(
            hash_string("sha1", b"abc").unwrap(),
            "a9993e364706816aba3e25717850c26c9cd0d89d"
        );
        assert_eq!(
            hash_string("sha256", b"abc").unwrap(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert!(hash_string("sha512", b"x").unwrap().len() == 128);
        assert_eq!(
            hash_string("SHA256", b""),
            Err(UnknownHashAlgorithm("SHA256".to_owned()))
        );
    }

    #[test]
    fn placeholders_match_nix() {
        use super::super::context::testing::{call, s};
        assert_eq!(
            call("placeholder", &[s("out")]),
            r#""/1rz4g4znpzjwh1xymhjpm42vipw92pr73vdgl6xs1hycac8kf2n9""#
        );
        assert_eq!(
            call("placeholder", &[s("")]),
            r#""/171rf4jhx57xqz3p7swniwkig249cif71pa08p80mgaf0mqz5bmr""#
        );
    }
}
