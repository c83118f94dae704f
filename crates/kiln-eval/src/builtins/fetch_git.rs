//! `builtins.fetchGit`: a local Git repository, checked out into the store.
//!
//! This file is the language side, Nix 2.8's `prim_fetchGit` (`fetchTree` with the `git`
//! scheme): it turns the argument into nix's *input attributes* and checks them with nix's
//! rules and wording, in nix's order (each attribute a string, path, Boolean or integer;
//! only Git's attribute names; `url` present and a URL; `shallow`, `submodules`, `allRefs`
//! Booleans; `ref` a valid branch or tag name; `rev` a SHA-1; `revCount` and `lastModified`
//! integers; `narHash` an SRI SHA-256). The [`crate::StoreHost`] then does the I/O (it runs
//! `git` as nix does, and adds the tree to the store by content), and this file checks the
//! result against the `narHash`, `lastModified` and `revCount` the caller gave and builds
//! nix's value: `outPath`, `narHash`, `rev`, `shortRev`, `revCount`, `lastModified`,
//! `lastModifiedDate` and `submodules`.
//!
//! A dirty working tree (uncommitted changes, no `ref` or `rev` given) is fetched as nix 2.8
//! fetches it: the tracked files as they are on disk, `rev` the zero SHA-1 and `revCount` 0.
//!
//! Deliberate difference: only local repositories (a path or a `file://` URL). A remote URL
//! (`https://`, `ssh://`, `git@host:path`) is `kiln::eval::not_available`, since kiln's
//! network reaches only package registries.

use std::collections::BTreeMap;

use super::Builtin;
use crate::{
    AttrEntry, Attrs, Coerce, ErrorKind, EvalError, EvalResult, Evaluator, FetchGit, FetchedGit,
    Symbol, Value,
};

pub(crate) const BUILTINS: &[Builtin] = &[Builtin {
    name: "fetchGit",
    arity: 1,
    func: fetch_git,
}];

/// The input attributes Nix 2.8's Git scheme accepts.
const ALLOWED: &[&str] = &[
    "type",
    "url",
    "ref",
    "rev",
    "shallow",
    "submodules",
    "lastModified",
    "revCount",
    "narHash",
    "allRefs",
    "name",
];

/// An input attribute's value (nix's `fetchers::Attr`).
#[derive(Clone, Debug, PartialEq, Eq)]
enum Attr {
    Str(String),
    Bool(bool),
    Int(u64),
}

/// Input attributes by name, sorted as nix's `std::map` sorts them.
type InputAttrs = BTreeMap<String, Attr>;

fn invalid(message: String) -> EvalError {
    EvalError::invalid_argument("fetchGit", message)
}

fn fetch_git(ev: &mut Evaluator, args: &[Value]) -> EvalResult<Value> {
    let attrs = input_attrs(ev, &args[0])?;
    let input = Input::from_attrs(&attrs)?;
    if input.url.scheme != "file" {
        return Err(EvalError::new(ErrorKind::RemoteFetch {
            builtin: "fetchGit",
            url: input.url.text.clone(),
        }));
    }
    let name = match attrs.get("name") {
        None => "source".to_string(),
        Some(Attr::Str(name)) => name.clone(),
        Some(_) => return Err(not_a_string("name", &attrs)),
    };
    let request = FetchGit {
        path: input.url.path.clone(),
        git_ref: input.git_ref.clone(),
        rev: input.rev.clone(),
        shallow: input.shallow,
        submodules: input.submodules,
        all_refs: input.all_refs,
        name,
    };
    let fetched = ev.fetch_git(&request)?;
    check_fetched(&input, &fetched)?;
    Ok(result_value(&input, &fetched))
}

/// `fetchTree`'s conversion of the argument into input attributes.
fn input_attrs(ev: &mut Evaluator, arg: &Value) -> EvalResult<InputAttrs> {
    let arg = ev.force(arg)?;
    let mut attrs = InputAttrs::new();
    attrs.insert("type".into(), Attr::Str("git".into()));
    let Value::Attrs(set) = &arg else {
        // A URL or a path: only `url`.
        let url = ev.coerce_to_string(&arg, Coerce::KeepPaths)?;
        attrs.insert("url".into(), Attr::Str(fix_uri_for_git(url.as_str())));
        return Ok(attrs);
    };
    if set.get_str("type").is_some() {
        return Err(invalid("unexpected attribute 'type'".into()));
    }
    for entry in set.iter() {
        let name = entry.name.as_str();
        let value = ev.force(&entry.value)?;
        let attr = match &value {
            Value::Path(_) | Value::String(_) => {
                // Neither copied to the store nor checked for context, as in nix.
                let s = ev.coerce_to_string(&value, Coerce::KeepPaths)?;
                if name == "url" {
                    Attr::Str(fix_uri_for_git(s.as_str()))
                } else {
                    Attr::Str(s.as_str().to_string())
                }
            }
            Value::Bool(b) => Attr::Bool(*b),
            // nix keeps a `uint64_t`: a negative integer wraps around.
            Value::Int(n) => Attr::Int(*n as u64),
            other => {
                return Err(invalid(format!(
                "fetchTree argument '{name}' is {} while a string, Boolean or integer is expected",
                other.type_phrase()
            )))
            }
        };
        attrs.insert(name.to_string(), attr);
    }
    Ok(attrs)
}

/// nix's `fixURIForGit`: `user@host:path` is an SSH URL; anything without a scheme a `file://`
/// one.
fn fix_uri_for_git(uri: &str) -> String {
    if !uri.starts_with('/') {
        if let Some((user_host, path)) = scp_style(uri) {
            return format!("ssh://{user_host}/{path}");
        }
    }
    if uri.contains("://") {
        uri.to_string()
    } else {
        format!("file://{uri}")
    }
}

/// The regex `([^/]*)@(.*):(.*)` of nix's `fixURIForGit`, matched as `std::regex_match`
/// matches it (greedy, the whole string): `("user@host", "path")`.
fn scp_style(uri: &str) -> Option<(String, &str)> {
    let user_end = uri.find('/').unwrap_or(uri.len());
    // The last `@` before any `/` that is followed by a `:` somewhere.
    let at = uri[..user_end]
        .rmatch_indices('@')
        .map(|(i, _)| i)
        .find(|&i| uri[i + 1..].contains(':'))?;
    let rest = &uri[at + 1..];
    let colon = rest.rfind(':')?;
    Some((
        format!("{}@{}", &uri[..at], &rest[..colon]),
        &rest[colon + 1..],
    ))
}

/// The parts of a URL that fetching needs (nix's `ParsedURL`).
#[derive(Clone, Debug, PartialEq, Eq)]
struct Url {
    text: String,
    scheme: String,
    authority: Option<String>,
    path: String,
    query: BTreeMap<String, String>,
}

/// nix's `parseURL`, for the URLs `fetchGit` sees.
fn parse_url(text: &str) -> Result<Url, String> {
    let not_valid = || format!("'{text}' is not a valid URL");
    let (scheme, rest) = text.split_once(':').ok_or_else(not_valid)?;
    let scheme_ok = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c));
    if !scheme_ok {
        return Err(not_valid());
    }
    let (rest, _fragment) = rest.split_once('#').unwrap_or((rest, ""));
    let (rest, query) = rest.split_once('?').unwrap_or((rest, ""));
    let (authority, path) = match rest.strip_prefix("//") {
        Some(after) => {
            let slash = after.find('/').unwrap_or(after.len());
            (Some(after[..slash].to_string()), after[slash..].to_string())
        }
        None => (None, rest.to_string()),
    };
    if scheme == "file" {
        if let Some(authority) = authority.as_deref().filter(|a| !a.is_empty()) {
            return Err(format!(
                "file:// URL '{text}' has unexpected authority '{authority}'"
            ));
        }
    }
    let query = query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(name), percent_decode(value))
        })
        .collect();
    Ok(Url {
        text: text.to_string(),
        scheme: scheme.to_string(),
        authority,
        path,
        query,
    })
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// nix's `percentEncode`: everything but letters, digits and `-._~`, in lowercase hex.
fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for byte in s.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02x}"));
        }
    }
    out
}

/// The checked input (nix's `Input` of the Git scheme).
#[derive(Clone, Debug)]
struct Input {
    url: Url,
    git_ref: Option<String>,
    rev: Option<String>,
    shallow: bool,
    submodules: bool,
    all_refs: bool,
    rev_count: Option<u64>,
    last_modified: Option<u64>,
    /// The SRI form of the `narHash` given.
    nar_hash: Option<String>,
}

impl Input {
    /// `GitInputScheme::inputFromAttrs` and `fixupInput`, in their order.
    fn from_attrs(attrs: &InputAttrs) -> EvalResult<Input> {
        if let Some(name) = attrs.keys().find(|name| !ALLOWED.contains(&name.as_str())) {
            return Err(invalid(format!("unsupported Git input attribute '{name}'")));
        }
        let url = match attrs.get("url") {
            None => return Err(invalid("input attribute 'url' is missing".into())),
            Some(Attr::Str(url)) => url,
            Some(_) => return Err(not_a_string("url", attrs)),
        };
        let url = parse_url(url).map_err(invalid)?;
        let shallow = bool_attr(attrs, "shallow")?;
        let submodules = bool_attr(attrs, "submodules")?;
        let all_refs = bool_attr(attrs, "allRefs")?;
        let git_ref = str_attr(attrs, "ref")?;
        if let Some(git_ref) = &git_ref {
            if is_bad_ref(git_ref) {
                return Err(invalid(format!("invalid Git branch/tag name '{git_ref}'")));
            }
        }
        let rev = str_attr(attrs, "rev")?
            .map(|rev| parse_rev(&rev))
            .transpose()
            .map_err(invalid)?;
        let rev_count = int_attr(attrs, "revCount")?;
        let last_modified = int_attr(attrs, "lastModified")?;
        let nar_hash = str_attr(attrs, "narHash")?
            .map(|hash| parse_nar_hash(&hash))
            .transpose()
            .map_err(invalid)?;
        Ok(Input {
            url,
            git_ref,
            rev,
            shallow: shallow.unwrap_or(false),
            submodules: submodules.unwrap_or(false),
            all_refs: all_refs.unwrap_or(false),
            rev_count,
            last_modified,
            nar_hash,
        })
    }

    /// nix's `Input::to_string` for a Git input with this `ref` and `rev`:
    /// `git+file:///repo?ref=main&rev=…&shallow=1`.
    fn to_url(&self, git_ref: Option<&str>, rev: Option<&str>) -> String {
        let mut query = self.url.query.clone();
        if let Some(rev) = rev {
            query.insert("rev".into(), rev.into());
        }
        if let Some(git_ref) = git_ref {
            query.insert("ref".into(), git_ref.into());
        }
        if self.shallow {
            query.insert("shallow".into(), "1".into());
        }
        let mut out = format!("git+{}:", self.url.scheme);
        if let Some(authority) = &self.url.authority {
            out.push_str("//");
            out.push_str(authority);
        }
        out.push_str(&self.url.path);
        let pairs: Vec<String> = query
            .iter()
            .map(|(name, value)| format!("{}={}", percent_encode(name), percent_encode(value)))
            .collect();
        if !pairs.is_empty() {
            out.push('?');
            out.push_str(&pairs.join("&"));
        }
        out
    }
}

/// nix's `maybeGetStrAttr` error: the message ends with the attributes as JSON.
fn not_a_string(name: &str, attrs: &InputAttrs) -> EvalError {
    let mut json = String::from("{");
    for (i, (key, value)) in attrs.iter().enumerate() {
        if i > 0 {
            json.push(',');
        }
        super::json::write_string(&mut json, key);
        json.push(':');
        match value {
            Attr::Str(s) => super::json::write_string(&mut json, s),
            Attr::Bool(b) => json.push_str(if *b { "true" } else { "false" }),
            Attr::Int(n) => json.push_str(&n.to_string()),
        }
    }
    json.push('}');
    invalid(format!("input attribute '{name}' is not a string {json}"))
}

fn str_attr(attrs: &InputAttrs, name: &str) -> EvalResult<Option<String>> {
    match attrs.get(name) {
        None => Ok(None),
        Some(Attr::Str(s)) => Ok(Some(s.clone())),
        Some(_) => Err(not_a_string(name, attrs)),
    }
}

fn bool_attr(attrs: &InputAttrs, name: &str) -> EvalResult<Option<bool>> {
    match attrs.get(name) {
        None => Ok(None),
        Some(Attr::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(invalid(format!(
            "input attribute '{name}' is not a Boolean"
        ))),
    }
}

fn int_attr(attrs: &InputAttrs, name: &str) -> EvalResult<Option<u64>> {
    match attrs.get(name) {
        None => Ok(None),
        Some(Attr::Int(n)) => Ok(Some(*n)),
        Some(_) => Err(invalid(format!(
            "input attribute '{name}' is not an integer"
        ))),
    }
}

/// nix's `badGitRefRegex`: what Git's `check-ref-format` refuses (and a little more).
fn is_bad_ref(name: &str) -> bool {
    name.is_empty()
        || name == "@"
        || name.contains("//")
        || name.starts_with(['.', '/'])
        || name.ends_with(['.', '/'])
        || name.contains("/.")
        || name.contains("..")
        || name.contains("@{")
        || name.ends_with(".lock")
        || name.contains(".lock/")
        || name
            .chars()
            .any(|c| c.is_control() || c.is_ascii_whitespace() || ":?^~[\\*".contains(c))
}

/// nix's `Hash::parseAny(rev, sha1)` (after an optional `sha1:`/`sha1-` prefix), as Git's 40
/// lowercase hexadecimal digits.
fn parse_rev(rev: &str) -> Result<String, String> {
    let text = rev
        .strip_prefix("sha1:")
        .or_else(|| rev.strip_prefix("sha1-"))
        .unwrap_or(rev);
    let bytes: Vec<u8> = match text.len() {
        40 => (0..20)
            .map(|i| u8::from_str_radix(&text[2 * i..2 * i + 2], 16))
            .collect::<Result<_, _>>()
            .ok()
            .filter(|_| text.is_ascii())
            .ok_or_else(|| format!("invalid base-16 hash '{rev}'"))?,
        32 => nix_base32::from_nix_base32(text)
            .ok_or_else(|| format!("invalid base-32 hash '{rev}'"))?,
        28 => base64_decode(text).ok_or_else(|| format!("invalid base-64 hash '{rev}'"))?,
        _ => {
            return Err(format!(
                "hash '{rev}' has wrong length for hash type 'sha1'"
            ))
        }
    };
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// nix's `Input::getNarHash`: an SRI SHA-256 (`sha256-<base64>`), or the empty string for the
/// zero hash; its canonical SRI form.
fn parse_nar_hash(hash: &str) -> Result<String, String> {
    if hash.is_empty() {
        return Ok(sri(&[0; 32]));
    }
    let Some((algo, base64)) = hash.split_once('-') else {
        return Err(format!("hash '{hash}' is not SRI"));
    };
    let size = match algo {
        "md5" => 16,
        "sha1" => 20,
        "sha256" => 32,
        "sha512" => 64,
        _ => return Err(format!("unknown hash algorithm '{algo}'")),
    };
    let bytes = base64_decode(base64)
        .filter(|b| b.len() == size)
        .ok_or_else(|| format!("invalid SRI hash '{base64}'"))?;
    if algo != "sha256" {
        return Err("narHash must use SHA-256".into());
    }
    Ok(sri(&bytes))
}

fn sri(bytes: &[u8]) -> String {
    use base64::Engine as _;
    format!(
        "sha256-{}",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    )
}

fn base64_decode(text: &str) -> Option<Vec<u8>> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.decode(text).ok()
}

/// `Input::fetch`'s checks of what was fetched against what the caller promised.
fn check_fetched(input: &Input, fetched: &FetchedGit) -> EvalResult<()> {
    if let Some(expected) = &input.nar_hash {
        if *expected != fetched.nar_hash {
            return Err(invalid(format!(
                "NAR hash mismatch in input '{}' ({}), expected '{expected}', got '{}'",
                input.to_url(input.git_ref.as_deref(), input.rev.as_deref()),
                fetched.out_path.as_str(),
                fetched.nar_hash
            )));
        }
    }
    let git_ref = fetched.git_ref.as_deref().or(input.git_ref.as_deref());
    let rev = fetched.rev.as_deref().or(input.rev.as_deref());
    if let Some(expected) = input.last_modified {
        if expected != fetched.last_modified {
            return Err(invalid(format!(
                "'lastModified' attribute mismatch in input '{}', expected {expected}",
                input.to_url(git_ref, rev)
            )));
        }
    }
    if let Some(expected) = input.rev_count {
        // A count the fetch did not compute (a shallow or dirty fetch) keeps the one given.
        if fetched.rev_count.is_some_and(|count| count != expected) {
            return Err(invalid(format!(
                "'revCount' attribute mismatch in input '{}', expected {expected}",
                input.to_url(git_ref, rev)
            )));
        }
    }
    Ok(())
}

/// nix's `emitTreeAttrs` with `fetchGit`'s fallbacks (the zero rev and a `revCount` of 0 where
/// the fetch has none).
fn result_value(input: &Input, fetched: &FetchedGit) -> Value {
    let rev = fetched
        .rev
        .clone()
        .or_else(|| input.rev.clone())
        .unwrap_or_else(|| "0".repeat(40));
    let rev_count = fetched.rev_count.or(input.rev_count).unwrap_or(0);
    let attr = |name: &str, value: Value| AttrEntry {
        name: Symbol::intern(name),
        value,
        pos: None,
    };
    Value::Attrs(Attrs::from_entries(vec![
        attr("lastModified", Value::Int(fetched.last_modified as i64)),
        attr(
            "lastModifiedDate",
            Value::string(utc_date(fetched.last_modified)),
        ),
        attr("narHash", Value::string(fetched.nar_hash.as_str())),
        attr("outPath", Value::String(fetched.out_path.clone())),
        attr("rev", Value::string(rev.as_str())),
        attr("revCount", Value::Int(rev_count as i64)),
        attr("shortRev", Value::string(&rev[..7])),
        attr("submodules", Value::Bool(input.submodules)),
    ]))
}

/// `%Y%m%d%H%M%S` of a Unix time, in UTC (nix formats `lastModified` with `std::gmtime`).
fn utc_date(secs: u64) -> String {
    let days = secs / 86_400;
    let rem = secs % 86_400;
    // Howard Hinnant's `civil_from_days`, for days since 1970-01-01.
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}{month:02}{day:02}{:02}{:02}{:02}",
        rem / 3_600,
        rem % 3_600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_fixed_as_nix_fixes_them() {
        assert_eq!(fix_uri_for_git("/tmp/repo"), "file:///tmp/repo");
        assert_eq!(fix_uri_for_git("file:///tmp/repo"), "file:///tmp/repo");
        assert_eq!(
            fix_uri_for_git("git@github.com:NixOS/nix"),
            "ssh://git@github.com/NixOS/nix"
        );
        assert_eq!(
            fix_uri_for_git("https://user@host:8080/x.git"),
            "https://user@host:8080/x.git"
        );
        assert_eq!(fix_uri_for_git("repo"), "file://repo");
    }

    #[test]
    fn file_urls_have_no_authority() {
        let url = parse_url("file:///tmp/a%20b?ref=x#frag").unwrap();
        assert_eq!(url.path, "/tmp/a%20b");
        assert_eq!(url.query.get("ref").map(String::as_str), Some("x"));
        assert_eq!(
            parse_url("file://repo").unwrap_err(),
            "file:// URL 'file://repo' has unexpected authority 'repo'"
        );
        assert_eq!(
            parse_url("file://localhost/tmp").unwrap_err(),
            "file:// URL 'file://localhost/tmp' has unexpected authority 'localhost'"
        );
        assert_eq!(parse_url("https://h/x").unwrap().scheme, "https");
    }

    #[test]
    fn refs_follow_git_rules() {
        for good in ["main", "refs/heads/feat", "v1.0", "a-b_c/d"] {
            assert!(!is_bad_ref(good), "{good}");
        }
        for bad in [
            "", "@", "HEAD~1", "a b", "a..b", ".a", "a/", "a.lock", "a//b", "x^", "a@{1}", "a:b",
        ] {
            assert!(is_bad_ref(bad), "{bad}");
        }
    }

    #[test]
    fn revs_and_nar_hashes_parse_as_nix_parses_them() {
        let hex = "a68f6b2b07176ee907becc6ea31a1398c37ee451";
        assert_eq!(parse_rev(hex).unwrap(), hex);
        assert_eq!(parse_rev(&hex.to_uppercase()).unwrap(), hex);
        assert_eq!(parse_rev(&format!("sha1:{hex}")).unwrap(), hex);
        assert_eq!(
            parse_rev("abc").unwrap_err(),
            "hash 'abc' has wrong length for hash type 'sha1'"
        );
        assert!(parse_rev(&format!("zz{}", &hex[2..]))
            .unwrap_err()
            .starts_with("invalid base-16 hash"));
        let sri = "sha256-wx7Qbf1oUSNEKnPhg8U+J3B4NkffVpC00erMrvCUZ04=";
        assert_eq!(parse_nar_hash(sri).unwrap(), sri);
        assert_eq!(
            parse_nar_hash("").unwrap(),
            "sha256-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
        );
        assert!(parse_nar_hash("sha256:abc")
            .unwrap_err()
            .ends_with("is not SRI"));
        assert!(parse_nar_hash(&sri.replace("sha256", "sha1"))
            .unwrap_err()
            .starts_with("invalid SRI hash"));
    }

    #[test]
    fn dates_are_utc() {
        assert_eq!(utc_date(0), "19700101000000");
        assert_eq!(utc_date(1_609_556_645), "20210102030405");
        assert_eq!(utc_date(1_577_934_245), "20200102030405");
        // A leap day.
        assert_eq!(utc_date(951_782_400), "20000229000000");
    }

    #[test]
    fn input_urls_are_printed_as_nix_prints_them() {
        let attrs: InputAttrs = [
            ("type".to_string(), Attr::Str("git".into())),
            ("url".to_string(), Attr::Str("file:///tmp/repo".into())),
            ("shallow".to_string(), Attr::Bool(true)),
        ]
        .into();
        let input = Input::from_attrs(&attrs).unwrap();
        assert_eq!(
            input.to_url(Some("refs/heads/feat"), None),
            "git+file:///tmp/repo?ref=refs%2fheads%2ffeat&shallow=1"
        );
        let attrs: InputAttrs = [
            ("type".to_string(), Attr::Str("git".into())),
            ("url".to_string(), Attr::Int(3)),
        ]
        .into();
        assert_eq!(
            Input::from_attrs(&attrs).unwrap_err().kind().to_string(),
            r#"input attribute 'url' is not a string {"type":"git","url":3}"#
        );
    }
}
