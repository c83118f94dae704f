//! Builtins of the `strings` family: `match`, `split`, `replaceStrings`, `substring`,
//! `stringLength` and `concatStringsSep`.
//!
//! Nix strings are byte strings and these builtins work on bytes: `stringLength "é"` is 2,
//! offsets of `substring` count bytes, and an empty `replaceStrings` pattern matches between
//! bytes. kiln stores strings as UTF-8 `String`s, so when a result cuts a character in two the
//! cut is repaired with U+FFFD (a deliberate difference; Nix would keep the raw bytes).
//! The regular expressions of `match` and `split` live in [`regex`].

mod regex;

use std::rc::Rc;

use self::regex::PosixRegex;
use super::context::force_string_no_context;
use super::Builtin;
use crate::{Coerce, EvalError, EvalResult, Evaluator, NixString, Value};

pub(crate) const BUILTINS: &[Builtin] = &[
    Builtin {
        name: "match",
        arity: 2,
        func: match_,
    },
    Builtin {
        name: "split",
        arity: 2,
        func: split,
    },
    Builtin {
        name: "replaceStrings",
        arity: 3,
        func: replace_strings,
    },
    Builtin {
        name: "substring",
        arity: 3,
        func: substring,
    },
    Builtin {
        name: "stringLength",
        arity: 1,
        func: string_length,
    },
    Builtin {
        name: "concatStringsSep",
        arity: 2,
        func: concat_strings_sep,
    },
];

fn compile(name: &'static str, pattern: &NixString) -> EvalResult<Rc<PosixRegex>> {
    regex::compile_cached(pattern).map_err(|e| EvalError::invalid_argument(name, e.to_string()))
}

/// A piece of the subject string; a cut inside a UTF-8 sequence is repaired lossily.
fn piece(s: &str, range: std::ops::Range<usize>) -> Value {
    match s.get(range.clone()) {
        Some(text) => Value::string(text),
        None => Value::string(String::from_utf8_lossy(&s.as_bytes()[range]).into_owned()),
    }
}

fn groups_value(s: &str, groups: &regex::Groups) -> Value {
    Value::list(
        groups[1..]
            .iter()
            .map(|g| g.clone().map_or(Value::Null, |r| piece(s, r)))
            .collect(),
    )
}

fn match_(ev: &mut Evaluator, args: &[Value]) -> EvalResult<Value> {
    let pattern = force_string_no_context(ev, &args[0])?;
    let re = compile("match", &pattern)?;
    let s = ev.force_string(&args[1])?;
    if re.n_groups() == 0 {
        return Ok(match re.is_full_match(s.as_str()) {
            true => Value::list(Vec::new()),
            false => Value::Null,
        });
    }
    Ok(match re.full_match(s.as_str().as_bytes()) {
        Some(groups) => groups_value(s.as_str(), &groups),
        None => Value::Null,
    })
}

fn split(ev: &mut Evaluator, args: &[Value]) -> EvalResult<Value> {
    let pattern = force_string_no_context(ev, &args[0])?;
    let re = compile("split", &pattern)?;
    let s = ev.force_string(&args[1])?;
    let text = s.as_str();
    let matches = re.find_all(text.as_bytes());
    if matches.is_empty() {
        // Nix returns the subject itself, context included.
        return Ok(Value::list(vec![Value::String(s.clone())]));
    }
    let mut res = Vec::with_capacity(2 * matches.len() + 1);
    let mut pos = 0;
    for groups in &matches {
        let Some(whole) = groups[0].clone() else {
            continue;
        };
        res.push(piece(text, pos..whole.start));
        res.push(groups_value(text, groups));
        pos = whole.end;
    }
    res.push(piece(text, pos..text.len()));
    Ok(Value::list(res))
}

fn replace_strings(ev: &mut Evaluator, args: &[Value]) -> EvalResult<Value> {
    let from_list = ev.force_list(&args[0])?;
    let to_list = ev.force_list(&args[1])?;
    if from_list.len() != to_list.len() {
        return Err(EvalError::invalid_argument(
            "replaceStrings",
            "'from' and 'to' arguments to 'replaceStrings' have different lengths",
        ));
    }
    let mut from = Vec::with_capacity(from_list.len());
    for item in from_list.iter() {
        from.push(ev.force_string(item)?);
    }
    let mut to = Vec::with_capacity(to_list.len());
    for item in to_list.iter() {
        to.push(ev.force_string(item)?);
    }
    let s = ev.force_string(&args[2])?;
    let from_bytes: Vec<&[u8]> = from.iter().map(|f| f.as_str().as_bytes()).collect();
    let to_bytes: Vec<&[u8]> = to.iter().map(|t| t.as_str().as_bytes()).collect();
    let (res, used) = replace_bytes(s.as_str().as_bytes(), &from_bytes, &to_bytes);
    let mut context = s.context().clone();
    for (idx, was_used) in used.iter().enumerate() {
        if *was_used {
            NixString::merge_context(&mut context, to[idx].context());
        }
    }
    Ok(Value::String(NixString::with_context(
        bytes_to_string(res),
        context,
    )))
}

fn substring(ev: &mut Evaluator, args: &[Value]) -> EvalResult<Value> {
    let start = ev.force_int(&args[0])?;
    let len = ev.force_int(&args[1])?;
    let s = ev.coerce_to_string(&args[2], Coerce::Interpolation)?;
    if start < 0 {
        return Err(EvalError::invalid_argument(
            "substring",
            "negative start position in 'substring'",
        ));
    }
    let res = substring_bytes(s.as_str().as_bytes(), start, len);
    let text = match std::str::from_utf8(res) {
        Ok(text) => text.to_owned(),
        Err(_) => String::from_utf8_lossy(res).into_owned(),
    };
    Ok(Value::String(NixString::with_context(
        text,
        s.context().clone(),
    )))
}

fn string_length(ev: &mut Evaluator, args: &[Value]) -> EvalResult<Value> {
    let s = ev.coerce_to_string(&args[0], Coerce::Interpolation)?;
    Ok(Value::Int(
        i64::try_from(s.as_str().len()).unwrap_or(i64::MAX),
    ))
}

fn concat_strings_sep(ev: &mut Evaluator, args: &[Value]) -> EvalResult<Value> {
    let sep = ev.force_string(&args[0])?;
    let list = ev.force_list(&args[1])?;
    let mut context = sep.context().clone();
    let mut out = String::new();
    for (idx, item) in list.iter().enumerate() {
        if idx > 0 {
            out.push_str(sep.as_str());
        }
        // Straight into `out`: no string per item.
        ev.coerce_into(item, Coerce::Interpolation, &mut out, &mut context)?;
    }
    Ok(Value::String(NixString::with_context(out, context)))
}

/// Bytes that came from valid UTF-8 but may have been cut inside a character.
fn bytes_to_string(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// `builtins.replaceStrings` on bytes: returns the result and, for each `to` string, whether it
/// was used (its context then joins the result's).
pub(crate) fn replace_bytes(s: &[u8], from: &[&[u8]], to: &[&[u8]]) -> (Vec<u8>, Vec<bool>) {
    let mut res = Vec::with_capacity(s.len());
    let mut used = vec![false; to.len()];
    // One past the end, so that an empty pattern also matches at the end.
    let mut pos = 0;
    while pos <= s.len() {
        let hit = from
            .iter()
            .position(|pattern| s[pos..].starts_with(pattern));
        match hit {
            Some(idx) => {
                res.extend_from_slice(to[idx]);
                used[idx] = true;
                if from[idx].is_empty() {
                    if let Some(&c) = s.get(pos) {
                        res.push(c);
                    }
                    pos += 1;
                } else {
                    pos += from[idx].len();
                }
            }
            None => {
                if let Some(&c) = s.get(pos) {
                    res.push(c);
                }
                pos += 1;
            }
        }
    }
    (res, used)
}

/// `builtins.substring start len s` on bytes, for `start >= 0`; a negative `len` means "to the
/// end". Nix casts `start` to a 32-bit `unsigned int` before comparing it with the length.
pub(crate) fn substring_bytes(s: &[u8], start: i64, len: i64) -> &[u8] {
    let start = start as u32 as usize;
    if start >= s.len() {
        return &[];
    }
    let end = if len < 0 {
        s.len()
    } else {
        start.saturating_add(len as usize).min(s.len())
    };
    &s[start..end]
}

#[cfg(test)]
mod tests {
    use super::super::context::testing::{call, list, s};
    use crate::Value;

    #[test]
    fn match_and_split() {
        assert_eq!(
            call("match", &[s("([[:alpha:]]+)([0-9]*)"), s("abc123")]),
            r#"[ "abc" "123" ]"#
        );
        assert_eq!(call("match", &[s("x(a)?"), s("x")]), "[ null ]");
        assert_eq!(call("match", &[s("a"), s("b")]), "null");
        assert_eq!(
            call("split", &[s("(a)|b"), s("xaybz")]),
            r#"[ "x" [ "a" ] "y" [ null ] "z" ]"#
        );
        assert_eq!(call("split", &[s(","), s("")]), r#"[ "" ]"#);
        assert_eq!(
            call("match", &[s("\\d"), s("1")]),
            r"error: invalid regular expression '\d'"
        );
        assert_eq!(
            call("match", &[s("a"), Value::Int(1)]),
            "error: value is an integer while a string was expected"
        );
    }

    #[test]
    fn replace_strings() {
        let r = |from: &[&str], to: &[&str], subject: &str| {
            call(
                "replaceStrings",
                &[
                    list(from.iter().map(|x| s(x)).collect()),
                    list(to.iter().map(|x| s(x)).collect()),
                    s(subject),
                ],
            )
        };
        assert_eq!(r(&["", "a"], &["-", "b"], "xay"), r#""-x-a-y-""#);
        assert_eq!(r(&["a", ""], &["b", "-"], "xay"), r#""-xb-y-""#);
        assert_eq!(r(&["oo", "o"], &["0", "1"], "foooo"), r#""f00""#);
        assert_eq!(r(&[""], &["x"], ""), r#""x""#);
        assert!(r(&["a"], &["b", "c"], "abc").contains("different lengths"));
    }

    #[test]
    fn substring_and_length() {
        let sub = |start: i64, len: i64, subject: &str| {
            call(
                "substring",
                &[Value::Int(start), Value::Int(len), s(subject)],
            )
        };
        assert_eq!(sub(1, -1, "abc"), r#""bc""#);
        assert_eq!(sub(4294967296, 1, "abc"), r#""a""#);
        assert_eq!(sub(10, 1, "abc"), r#""""#);
        assert_eq!(sub(1, 2, "héllo"), r#""é""#);
        assert!(sub(-1, 1, "abc").contains("negative start position"));
        assert_eq!(call("stringLength", &[s("日本語")]), "9");
        assert_eq!(
            call("concatStringsSep", &[s(", "), list(vec![s("a"), s("b")])]),
            r#""a, b""#
        );
        assert_eq!(
            call(
                "concatStringsSep",
                &[s(", "), list(vec![s("a"), Value::Int(1)])]
            ),
            "error: cannot coerce an integer to a string"
        );
    }
}
