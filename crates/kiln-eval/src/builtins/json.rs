//! Builtins of the `json` family: `toJSON`, `fromJSON` and `fromTOML`.
//!
//! Nix 2.8 writes JSON with its own escaper and prints floats through a default C++ `ostream`,
//! which is C's `%g` with six significant digits (`0.1` → `0.1`, `1/3` → `0.333333`,
//! `1e20` → `1e+20`); `kiln_syntax::format_float` reproduces that.
//! It reads JSON with nlohmann::json, whose number rules we copy: an integer that fits in `u64`
//! is an integer (wrapped into `i64`, so `18446744073709551615` reads as `-1`), a larger one or
//! any number with a fraction or exponent is a float, and a float that overflows is an error.
//! Strings stop at a NUL character, because Nix strings are C strings.
//!
//! The parser is iterative, and nesting deeper than [`MAX_DEPTH`] is an error (a deliberate
//! difference from Nix, which has no limit): the tree it builds is dropped and converted
//! recursively, and must not overflow the stack.

use compact_str::CompactString;
use std::fmt::Write as _;

use super::context::force_string_no_context;
use super::Builtin;
use crate::{
    AttrEntry, Attrs, Coerce, Context, ErrorKind, EvalError, EvalResult, Evaluator, NixString,
    Symbol, Value,
};
use kiln_syntax::format_float;

/// The deepest nesting of arrays and objects that [`parse`] accepts.
pub(crate) const MAX_DEPTH: usize = 4096;

/// A parsed JSON document; object members keep their order and duplicates (the last one wins
/// when they become an attribute set, as in Nix).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Json {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    String(CompactString),
    Array(Vec<Json>),
    Object(Vec<(CompactString, Json)>),
}

/// Why a JSON text was rejected, with a 1-based line and column as nlohmann reports them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct JsonError {
    pub(crate) line: usize,
    pub(crate) column: usize,
    pub(crate) message: String,
}

impl std::fmt::Display for JsonError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "parse error at line {}, column {}: {}",
            self.line, self.column, self.message
        )
    }
}

/// Appends `s` as a JSON string literal, escaping as Nix's `toJSON` does.
///
/// The runs of characters that need no escape are copied whole; only the (ASCII) characters
/// that do are looked at one by one.
pub(crate) fn write_string(out: &mut String, s: &str) {
    out.reserve(s.len() + 2);
    out.push('"');
    let mut rest = s;
    while let Some(at) = rest
        .bytes()
        .position(|c| c == b'"' || c == b'\\' || c < 0x20)
    {
        out.push_str(&rest[..at]);
        match rest.as_bytes()[at] {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            c => {
                let _ = write!(out, "\\u{:04x}", c);
            }
        }
        rest = &rest[at + 1..];
    }
    out.push_str(rest);
    out.push('"');
}

/// Parses a complete JSON text (surrounding whitespace allowed).
pub(crate) fn parse(text: &str) -> Result<Json, JsonError> {
    let mut parser = Parser {
        text: text.as_bytes(),
        pos: 0,
    };
    let value = parser.document()?;
    parser.skip_ws();
    if parser.pos != parser.text.len() {
        return Err(parser.error(
            "syntax error while parsing value - unexpected trailing input; expected end of input",
        ));
    }
    Ok(value)
}

struct Parser<'a> {
    text: &'a [u8],
    pos: usize,
}

/// A container being filled while the parser descends.
enum Frame {
    Array(Vec<Json>),
    Object(Vec<(CompactString, Json)>, CompactString),
}

impl Parser<'_> {
    fn error(&self, message: &str) -> JsonError {
        let upto = &self.text[..self.pos.min(self.text.len())];
        let line = upto.iter().filter(|&&c| c == b'\n').count() + 1;
        let line_start = upto.iter().rposition(|&c| c == b'\n').map_or(0, |i| i + 1);
        JsonError {
            line,
            column: self.pos - line_start + 1,
            message: message.to_owned(),
        }
    }

    fn check_depth(&self, depth: usize) -> Result<(), JsonError> {
        if depth >= MAX_DEPTH {
            return Err(self.error(&format!(
                "nesting deeper than {MAX_DEPTH} levels is not supported"
            )));
        }
        Ok(())
    }

    fn skip_ws(&mut self) {
        while matches!(self.text.get(self.pos), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    fn document(&mut self) -> Result<Json, JsonError> {
        let mut stack: Vec<Frame> = Vec::new();
        loop {
            // Parse one value, or open a container.
            self.skip_ws();
            let mut value = match self.text.get(self.pos) {
                Some(b'[') => {
                    self.pos += 1;
                    self.skip_ws();
                    if self.text.get(self.pos) == Some(&b']') {
                        self.pos += 1;
                        Json::Array(Vec::new())
                    } else {
                        self.check_depth(stack.len())?;
                        stack.push(Frame::Array(Vec::new()));
                        continue;
                    }
                }
                Some(b'{') => {
                    self.pos += 1;
                    self.skip_ws();
                    if self.text.get(self.pos) == Some(&b'}') {
                        self.pos += 1;
                        Json::Object(Vec::new())
                    } else {
                        self.check_depth(stack.len())?;
                        let key = self.key()?;
                        stack.push(Frame::Object(Vec::new(), key));
                        continue;
                    }
                }
                Some(b'"') => Json::String(self.string()?),
                Some(b't') => self.literal("true", Json::Bool(true))?,
                Some(b'f') => self.literal("false", Json::Bool(false))?,
                Some(b'n') => self.literal("null", Json::Null)?,
                Some(b'-' | b'0'..=b'9') => self.number()?,
                Some(_) => {
                    return Err(self.error(
                        "syntax error while parsing value - unexpected character; expected '[', '{', or a literal",
                    ))
                }
                None => {
                    return Err(self.error(
                        "syntax error while parsing value - unexpected end of input; expected '[', '{', or a literal",
                    ))
                }
            };
            // Hand the value to the enclosing containers, closing those that end here.
            loop {
                let Some(frame) = stack.last_mut() else {
                    return Ok(value);
                };
                self.skip_ws();
                let next = self.text.get(self.pos).copied();
                match frame {
                    Frame::Array(items) => {
                        items.push(value);
                        match next {
                            Some(b',') => {
                                self.pos += 1;
                                break;
                            }
                            Some(b']') => {
                                self.pos += 1;
                                let Some(Frame::Array(items)) = stack.pop() else {
                                    unreachable!("the top frame is an array");
                                };
                                value = Json::Array(items);
                            }
                            _ => return Err(self.error(
                                "syntax error while parsing array - unexpected token; expected ']'",
                            )),
                        }
                    }
                    Frame::Object(members, key) => {
                        members.push((std::mem::take(key), value));
                        match next {
                            Some(b',') => {
                                self.pos += 1;
                                self.skip_ws();
                                *key = self.key()?;
                                break;
                            }
                            Some(b'}') => {
                                self.pos += 1;
                                let Some(Frame::Object(members, _)) = stack.pop() else {
                                    unreachable!("the top frame is an object");
                                };
                                value = Json::Object(members);
                            }
                            _ => {
                                return Err(self.error(
                                    "syntax error while parsing object - unexpected token; expected '}'",
                                ))
                            }
                        }
                    }
                }
            }
        }
    }

    /// An object key and its colon.
    fn key(&mut self) -> Result<CompactString, JsonError> {
        if self.text.get(self.pos) != Some(&b'"') {
            return Err(self.error(
                "syntax error while parsing object key - unexpected token; expected string literal",
            ));
        }
        let key = self.string()?;
        self.skip_ws();
        if self.text.get(self.pos) != Some(&b':') {
            return Err(self.error(
                "syntax error while parsing object separator - unexpected token; expected ':'",
            ));
        }
        self.pos += 1;
        Ok(key)
    }

    fn literal(&mut self, word: &str, value: Json) -> Result<Json, JsonError> {
        if self.text[self.pos..].starts_with(word.as_bytes()) {
            self.pos += word.len();
            Ok(value)
        } else {
            self.pos += 1;
            Err(self.error("syntax error while parsing value - invalid literal"))
        }
    }

    fn number(&mut self) -> Result<Json, JsonError> {
        let start = self.pos;
        let digits = |p: &mut Self| {
            let from = p.pos;
            while p.text.get(p.pos).is_some_and(u8::is_ascii_digit) {
                p.pos += 1;
            }
            p.pos - from
        };
        let negative = self.text.get(self.pos) == Some(&b'-');
        if negative {
            self.pos += 1;
        }
        match self.text.get(self.pos) {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => {
                digits(self);
            }
            _ => {
                self.pos += 1;
                return Err(self.error(
                    "syntax error while parsing value - invalid number; expected digit after '-'",
                ));
            }
        }
        let mut is_float = false;
        if self.text.get(self.pos) == Some(&b'.') {
            is_float = true;
            self.pos += 1;
            if digits(self) == 0 {
                self.pos += 1;
                return Err(self.error(
                    "syntax error while parsing value - invalid number; expected digit after '.'",
                ));
            }
        }
        if matches!(self.text.get(self.pos), Some(b'e' | b'E')) {
            is_float = true;
            self.pos += 1;
            if matches!(self.text.get(self.pos), Some(b'+' | b'-')) {
                self.pos += 1;
            }
            if digits(self) == 0 {
                self.pos += 1;
                return Err(self.error(
                    "syntax error while parsing value - invalid number; expected digit after exponent sign",
                ));
            }
        }
        // The bytes are ASCII digits and signs, so this cannot fail.
        let text = std::str::from_utf8(&self.text[start..self.pos]).unwrap_or("0");
        if !is_float {
            if negative {
                if let Ok(n) = text.parse::<i64>() {
                    return Ok(Json::Int(n));
                }
            } else if let Ok(n) = text.parse::<u64>() {
                // nlohmann reads it as unsigned; Nix stores it in a signed integer.
                return Ok(Json::Int(n as i64));
            }
        }
        match text.parse::<f64>() {
            Ok(x) if x.is_finite() => Ok(Json::Float(x)),
            _ => Err(self.error(&format!("number overflow parsing '{text}'"))),
        }
    }

    /// A string literal, starting at its opening quote.
    /// A string literal. Most have no escape: they are sliced from the text, which is UTF-8
    /// already, and kept inline when short.
    fn string(&mut self) -> Result<CompactString, JsonError> {
        self.pos += 1;
        let start = self.pos;
        let plain = self.text[start..]
            .iter()
            .position(|&c| c == b'"' || c == b'\\' || c < 0x20);
        if let Some(len) = plain {
            if self.text[start + len] == b'"' {
                self.pos = start + len + 1;
                return Ok(match std::str::from_utf8(&self.text[start..start + len]) {
                    Ok(s) => CompactString::from(s),
                    Err(_) => {
                        CompactString::from(String::from_utf8_lossy(&self.text[start..start + len]))
                    }
                });
            }
        }
        let mut out: Vec<u8> = Vec::new();
        loop {
            let Some(&c) = self.text.get(self.pos) else {
                return Err(self.error(
                    "syntax error while parsing value - invalid string: missing closing quote",
                ));
            };
            self.pos += 1;
            match c {
                b'"' => break,
                b'\\' => {
                    let Some(&esc) = self.text.get(self.pos) else {
                        return Err(self.error(
                            "syntax error while parsing value - invalid string: missing closing quote",
                        ));
                    };
                    self.pos += 1;
                    let ch = match esc {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => self.unicode_escape()?,
                        _ => {
                            return Err(self.error(
                                "syntax error while parsing value - invalid string: forbidden character after backslash",
                            ))
                        }
                    };
                    let mut buf = [0u8; 4];
                    out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                }
                c if c < 0x20 => {
                    return Err(self.error(&format!(
                        "syntax error while parsing value - invalid string: control character U+{c:04X} must be escaped"
                    )))
                }
                c => out.push(c),
            }
        }
        // Nix strings end at the first NUL.
        if let Some(nul) = out.iter().position(|&c| c == 0) {
            out.truncate(nul);
        }
        // The input was UTF-8 and escapes add whole characters; truncation at NUL keeps it valid.
        Ok(CompactString::from(String::from_utf8(out).unwrap_or_else(
            |e| String::from_utf8_lossy(e.as_bytes()).into_owned(),
        )))
    }

    fn hex4(&mut self) -> Result<u32, JsonError> {
        let hex = self
            .text
            .get(self.pos..self.pos + 4)
            .and_then(|h| std::str::from_utf8(h).ok())
            .filter(|h| h.bytes().all(|c| c.is_ascii_hexdigit()))
            .and_then(|h| u32::from_str_radix(h, 16).ok());
        match hex {
            Some(n) => {
                self.pos += 4;
                Ok(n)
            }
            None => Err(self.error(
                "syntax error while parsing value - invalid string: '\\u' must be followed by 4 hex digits",
            )),
        }
    }

    fn unicode_escape(&mut self) -> Result<char, JsonError> {
        let high = self.hex4()?;
        let code = if (0xD800..0xDC00).contains(&high) {
            if self.text.get(self.pos..self.pos + 2) != Some(b"\\u") {
                return Err(self.error("syntax error while parsing value - invalid string: surrogate U+D800..U+DBFF must be followed by U+DC00..U+DFFF"));
            }
            self.pos += 2;
            let low = self.hex4()?;
            if !(0xDC00..0xE000).contains(&low) {
                return Err(self.error("syntax error while parsing value - invalid string: surrogate U+D800..U+DBFF must be followed by U+DC00..U+DFFF"));
            }
            0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00)
        } else if (0xDC00..0xE000).contains(&high) {
            return Err(self.error("syntax error while parsing value - invalid string: surrogate U+DC00..U+DFFF must follow U+D800..U+DBFF"));
        } else {
            high
        };
        char::from_u32(code).ok_or_else(|| {
            self.error("syntax error while parsing value - invalid string: bad code point")
        })
    }
}

pub(crate) const BUILTINS: &[Builtin] = &[
    Builtin {
        name: "toJSON",
        arity: 1,
        func: to_json,
    },
    Builtin {
        name: "fromJSON",
        arity: 1,
        func: from_json,
    },
    Builtin {
        name: "fromTOML",
        arity: 1,
        func: from_toml,
    },
];

/// `builtins.fromTOML`, through the `toml` crate (Nix 2.8 uses toml11; the two agree on valid
/// TOML). Dates and times are errors, as in Nix, which has no type for them.
fn from_toml(ev: &mut Evaluator, args: &[Value]) -> EvalResult<Value> {
    let text = force_string_no_context(ev, &args[0])?;
    let fail = |message: String| {
        EvalError::invalid_argument(
            "fromTOML",
            format!("while parsing a TOML string: {message}"),
        )
    };
    let table: toml::Table = text.as_str().parse().map_err(|e: toml::de::Error| {
        // The text starts with "TOML parse error at line L, column C" and goes on with a source
        // snippet; the message, when there is one, says why.
        let full = e.to_string();
        let place = full.lines().next().unwrap_or_default().trim();
        match e.message().trim() {
            "" => fail(place.to_owned()),
            reason => fail(format!("{place}: {reason}")),
        }
    })?;
    toml_to_value(toml::Value::Table(table))
        .map_err(|()| fail("Dates and times are not supported".to_owned()))
}

/// Converts a TOML value; its depth is bounded by the `toml` crate's own recursion limit.
fn toml_to_value(toml: toml::Value) -> Result<Value, ()> {
    Ok(match toml {
        toml::Value::String(s) => Value::string(s),
        toml::Value::Integer(n) => Value::Int(n),
        toml::Value::Float(x) => Value::Float(x),
        toml::Value::Boolean(b) => Value::Bool(b),
        toml::Value::Datetime(_) => return Err(()),
        toml::Value::Array(items) => Value::list(
            items
                .into_iter()
                .map(toml_to_value)
                .collect::<Result<_, _>>()?,
        ),
        toml::Value::Table(table) => {
            let mut entries = Vec::with_capacity(table.len());
            for (name, value) in table {
                entries.push(AttrEntry {
                    name: Symbol::intern(&name),
                    value: toml_to_value(value)?,
                    pos: None,
                });
            }
            Value::Attrs(Attrs::from_entries(entries))
        }
    })
}

fn to_json(ev: &mut Evaluator, args: &[Value]) -> EvalResult<Value> {
    let mut out = String::new();
    let mut context = None;
    write_json_value(ev, &args[0], &mut out, &mut context, 0)?;
    Ok(Value::String(NixString::with_context(out, context)))
}

/// How deeply `toJSON` nests before it fails with nix's "stack overflow (possible infinite
/// recursion)". nix 2.8 is bounded by its C stack: 40 000 nested lists print, 70 000 overflow.
/// A limit in between makes a 100 000-deep or cyclic value (`let x = { a = x; }; in x`) the
/// same controlled error, in memory bounded by the depth.
const MAX_JSON_DEPTH: usize = 50_000;

/// `printValueAsJSON` with `strict = true`, collecting the context of every string.
fn write_json_value(
    ev: &mut Evaluator,
    value: &Value,
    out: &mut String,
    context: &mut Context,
    depth: usize,
) -> EvalResult<()> {
    if depth > MAX_JSON_DEPTH {
        return Err(EvalError::new(ErrorKind::StackOverflow));
    }
    let value = ev.force(value)?;
    match &value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(n) => crate::ops::push_int(out, *n),
        Value::Float(x) => out.push_str(&format_float(*x)),
        Value::String(s) => {
            write_string(out, s.as_str());
            NixString::merge_context(context, s.context());
        }
        // A path is added to the store; the JSON holds the store path, the string its context.
        Value::Path(p) => {
            let stored = ev.copy_path_to_store(p)?;
            write_string(out, stored.as_str());
            NixString::merge_context(context, stored.context());
        }
        Value::List(list) => {
            out.push('[');
            for (idx, item) in list.iter().enumerate() {
                if idx > 0 {
                    out.push(',');
                }
                stacker::maybe_grow(64 * 1024, 1024 * 1024, || {
                    write_json_value(ev, item, out, context, depth + 1)
                })?;
            }
            out.push(']');
        }
        Value::Attrs(attrs) => {
            if attrs.get(ev.syms.to_string).is_some() {
                let s = ev.coerce_to_string(&value, Coerce::Interpolation)?;
                write_string(out, s.as_str());
                NixString::merge_context(context, s.context());
                return Ok(());
            }
            if let Some(out_path) = attrs.get(ev.syms.out_path) {
                let out_path = out_path.clone();
                return stacker::maybe_grow(64 * 1024, 1024 * 1024, || {
                    write_json_value(ev, &out_path, out, context, depth + 1)
                });
            }
            out.push('{');
            for (idx, entry) in attrs.iter().enumerate() {
                if idx > 0 {
                    out.push(',');
                }
                write_string(out, entry.name.as_str());
                out.push(':');
                stacker::maybe_grow(64 * 1024, 1024 * 1024, || {
                    write_json_value(ev, &entry.value, out, context, depth + 1)
                })
                .map_err(|e| {
                    e.frame(entry.pos, || {
                        format!("while evaluating the attribute `{}`", entry.name.as_str())
                    })
                })?;
            }
            out.push('}');
        }
        Value::Lambda(_) | Value::PrimOp(_) | Value::PrimOpApp(_) => {
            return Err(EvalError::new(ErrorKind::Unsupported {
                message: "cannot convert a function to JSON".to_owned(),
            }))
        }
        Value::Thunk(_) => {
            return Err(EvalError::bug("toJSON saw a thunk after forcing"));
        }
    }
    Ok(())
}

fn from_json(ev: &mut Evaluator, args: &[Value]) -> EvalResult<Value> {
    let text = force_string_no_context(ev, &args[0])?;
    let json = parse(text.as_str()).map_err(|e| {
        // nix's wording (nlohmann's) where it has one; kiln's own for what only kiln rejects.
        let message = super::json_error::nlohmann_error(text.as_str()).unwrap_or(e.to_string());
        EvalError::invalid_argument("fromJSON", message)
    })?;
    Ok(json_to_value(json))
}

/// Converts a parsed document; its depth is bounded by the parser's `MAX_DEPTH`.
fn json_to_value(json: Json) -> Value {
    match json {
        Json::Null => Value::Null,
        Json::Bool(b) => Value::Bool(b),
        Json::Int(n) => Value::Int(n),
        Json::Float(x) => Value::Float(x),
        Json::String(s) => Value::string(s),
        Json::Array(items) => Value::list(items.into_iter().map(json_to_value).collect()),
        Json::Object(members) => {
            // `Attrs::from_entries` keeps the first of duplicate names; Nix keeps the last.
            let entries = members
                .into_iter()
                .rev()
                .map(|(name, value)| AttrEntry {
                    name: Symbol::intern(&name),
                    value: json_to_value(value),
                    pos: None,
                })
                .collect();
            Value::Attrs(Attrs::from_entries(entries))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_like_printf_g() {
        let xs = [
            1.0,
            0.1,
            1e20,
            1e21,
            1.5e-7,
            123456789.123,
            0.0,
            3e-5,
            1e100,
            0.30000000000000004,
            100000.0,
            1234567.0,
            1e15,
            1e16,
            1e17,
            0.0001,
            0.00001,
            1.0 / 3.0,
            2.5e-300,
            999999.5,
            9999995.0,
            0.5,
            1.7976931348623157e308,
            -0.0,
            -2.5,
        ];
        let got: Vec<String> = xs.iter().map(|&x| format_float(x)).collect();
        assert_eq!(
            got.join(","),
            "1,0.1,1e+20,1e+21,1.5e-07,1.23457e+08,0,3e-05,1e+100,0.3,100000,1.23457e+06,\
             1e+15,1e+16,1e+17,0.0001,1e-05,0.333333,2.5e-300,1e+06,1e+07,0.5,1.79769e+308,-0,-2.5"
        );
    }

    #[test]
    fn escapes_like_nix() {
        let mut out = String::new();
        write_string(&mut out, "a\"b\\c\n\t\r\u{1}\u{1f}\u{7f} é \u{8}\u{c}/");
        assert_eq!(
            out,
            "\"a\\\"b\\\\c\\n\\t\\r\\u0001\\u001f\u{7f} é \\u0008\\u000c/\""
        );
    }

    #[test]
    fn numbers() {
        let parsed = parse("[1, 1.0, 1e2, -0, 1E+2, 0.5, 9223372036854775807, -9223372036854775808, -0.0, 9223372036854775808, 18446744073709551615, 18446744073709551616, -9223372036854775809]").unwrap();
        assert_eq!(
            parsed,
            Json::Array(vec![
                Json::Int(1),
                Json::Float(1.0),
                Json::Float(100.0),
                Json::Int(0),
                Json::Float(100.0),
                Json::Float(0.5),
                Json::Int(i64::MAX),
                Json::Int(i64::MIN),
                Json::Float(-0.0),
                Json::Int(i64::MIN),
                Json::Int(-1),
                Json::Float(18446744073709551616.0),
                Json::Float(-9223372036854775809.0),
            ])
        );
        assert!(parse("1e400").is_err());
    }

    #[test]
    fn strings_and_structure() {
        assert_eq!(
            parse(r#""\u00e9\ud83d\ude00\n\/""#).unwrap(),
            Json::String("é😀\n/".into())
        );
        assert_eq!(parse(r#""a\u0000b""#).unwrap(), Json::String("a".into()));
        assert_eq!(parse("  true  ").unwrap(), Json::Bool(true));
        assert_eq!(
            parse(r#"{"a":{"b":[]}, "c":{}}"#).unwrap(),
            Json::Object(vec![
                (
                    "a".into(),
                    Json::Object(vec![("b".into(), Json::Array(vec![]))])
                ),
                ("c".into(), Json::Object(vec![])),
            ])
        );
        for bad in [
            "[1,]",
            "",
            "01",
            "nul",
            "[1] x",
            r#""\ud800""#,
            "\"a\tb\"",
            "[1 2]",
            r#"{"a" 1}"#,
            r#""\x""#,
            "1.",
            "-",
            "[\n1,\n]",
            "{",
            "[",
            "\"",
            "{\"a\":1,}",
            "tru",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} should be rejected");
        }
        let err = parse("[\n1,\n]").unwrap_err();
        assert_eq!((err.line, err.column), (3, 1));
    }

    #[test]
    fn deep_nesting_does_not_overflow() {
        let ok = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert!(parse(&ok).is_ok());
        let deep = format!("{}{}", "[".repeat(200_000), "]".repeat(200_000));
        assert!(parse(&deep).is_err());
    }

    use super::super::context::testing::{call, list, s as string};
    use crate::{AttrEntry, Attrs, Symbol, Value};
    use proptest::prelude::*;

    #[test]
    fn to_json_values() {
        let attrs = |entries: Vec<(&str, Value)>| {
            Value::Attrs(Attrs::from_entries(
                entries
                    .into_iter()
                    .map(|(name, value)| AttrEntry {
                        name: Symbol::intern(name),
                        value,
                        pos: None,
                    })
                    .collect(),
            ))
        };
        let v = attrs(vec![
            ("b", Value::Int(1)),
            (
                "a",
                list(vec![Value::Bool(true), Value::Null, Value::Float(0.1)]),
            ),
            ("c", attrs(vec![("outPath", string("/x"))])),
        ]);
        assert_eq!(
            call("toJSON", &[v]),
            r#""{\"a\":[true,null,0.1],\"b\":1,\"c\":\"/x\"}""#
        );
        assert_eq!(
            call("toJSON", &[attrs(vec![("f", call_value("add"))])]),
            "error: cannot convert a function to JSON"
        );
    }

    fn call_value(name: &str) -> Value {
        super::super::context::testing::builtin(name)
    }

    #[test]
    fn from_json_values() {
        assert_eq!(
            call(
                "fromJSON",
                &[string(r#"{"b":1,"a":2,"a":3,"c":[1.5,null,"x"]}"#)]
            ),
            r#"{ a = 3; b = 1; c = [ 1.5 null "x" ]; }"#
        );
        assert!(call("fromJSON", &[string("[1,]")])
            .starts_with("error: [json.exception.parse_error.101] parse error at line 1"));
    }

    fn json_strategy() -> impl Strategy<Value = Json> {
        let leaf = prop_oneof![
            Just(Json::Null),
            any::<bool>().prop_map(Json::Bool),
            any::<i64>().prop_map(Json::Int),
            // Floats that survive six significant digits, as Nix prints them.
            (-99999i32..99999, -20i32..20)
                .prop_map(|(m, e)| Json::Float(f64::from(m) * 10f64.powi(e)))
                .prop_filter("integral floats read back as ints", |j| {
                    !matches!(j, Json::Float(x) if x.fract() == 0.0 && x.abs() < 1e15)
                })
                .prop_filter("six digits", |j| match j {
                    Json::Float(x) => format_float(*x).parse::<f64>() == Ok(*x),
                    _ => true,
                }),
            "[a-z\\u{e9}\\u{1F600}\"\\\\\n\t\u{1}]{0,8}".prop_map(|s| Json::String(s.into())),
        ];
        leaf.prop_recursive(4, 32, 6, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..6).prop_map(Json::Array),
                proptest::collection::btree_map("[a-z]{0,4}", inner, 0..6).prop_map(|m| {
                    Json::Object(m.into_iter().map(|(k, v)| (k.into(), v)).collect())
                }),
            ]
        })
    }

    proptest! {
        /// `fromJSON (toJSON x) == x` for every JSON-representable value.
        #[test]
        fn from_json_inverts_to_json(json in json_strategy()) {
            let mut ev = super::super::context::testing::evaluator();
            let value = json_to_value(json);
            let text = super::to_json(&mut ev, std::slice::from_ref(&value)).unwrap();
            let back = super::from_json(&mut ev, &[text]).unwrap();
            prop_assert!(ev.equal(&value, &back).unwrap());
        }
    }
}
