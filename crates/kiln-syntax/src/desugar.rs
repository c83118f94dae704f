//! The parse-time transformations Nix 2.8's `parser.y` performs, kept apart from pest so that
//! they read like the C++ they mirror: merging nested keys into attribute sets (`addAttr`),
//! indented-string stripping (`stripIndentation`), string unescaping (`unescapeStr`), lexical
//! path canonicalisation (`absPath`/`canonPath`) and number literals (`lexical_cast`, `strtod`).

use crate::ast::{self, AttrDef, AttrName, DynamicAttr, Expr, ExprKind, Name};
use crate::span::Span;
use std::collections::HashMap;
use std::hash::Hasher;
use std::sync::Arc;

/// A duplicate definition found while building an attribute set: `span` is reported, and
/// `previous` is where the name was already defined.
#[derive(Debug)]
pub(crate) struct DupAttr {
    pub(crate) path: String,
    pub(crate) span: Span,
    pub(crate) previous: Span,
}

/// An attribute set under construction, as Nix's `ExprAttrs` while `binds` is being reduced.
///
/// Invariant: `index[name]` is the position of `name` in `entries`.
pub(crate) struct AttrsBuilder {
    rec: bool,
    /// The span of the expression the finished set becomes.
    span: Span,
    entries: Vec<Entry>,
    index: HashMap<Name, usize>,
    dynamic: Vec<DynamicAttr>,
}

struct Entry {
    name: Name,
    name_span: Span,
    value: Value,
    inherited: bool,
}

/// A binding's value. Nested keys (`a.b = 1;`) descend into attribute sets, so those are
/// kept as builders; any other value is a finished expression.
enum Value {
    Expr(Expr),
    Nested(Box<AttrsBuilder>),
}

/// The Fx hash (rustc's) with a finaliser: much cheaper than SipHash for the short names the
/// parsers intern. Not flood-resistant: a crafted source can slow down its own parse.
#[derive(Default)]
pub(crate) struct FxHasher(u64);

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let word = u64::from_le_bytes(chunk.try_into().expect("8 bytes"));
            self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(SEED);
        }
        for &byte in chunks.remainder() {
            self.0 = (self.0.rotate_left(5) ^ u64::from(byte)).wrapping_mul(SEED);
        }
    }

    fn write_u8(&mut self, byte: u8) {
        self.write(&[byte]);
    }

    fn finish(&self) -> u64 {
        // Fx alone leaves the low bits, which pick the bucket, poorly mixed (`x1`, `x2`, ...
        // collide); murmur3's finaliser spreads every bit.
        let mut h = self.0;
        h = (h ^ (h >> 33)).wrapping_mul(0xff51_afd7_ed55_8ccd);
        h = (h ^ (h >> 33)).wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        h ^ (h >> 33)
    }
}

/// One element of an attribute path with the span of its text.
pub(crate) struct PathElem {
    pub(crate) name: AttrName,
    pub(crate) span: Span,
}

impl AttrsBuilder {
    pub(crate) fn new(rec: bool, span: Span) -> AttrsBuilder {
        AttrsBuilder {
            rec,
            span,
            entries: Vec::new(),
            index: HashMap::new(),
            dynamic: Vec::new(),
        }
    }

    pub(crate) fn set_span(&mut self, span: Span) {
        self.span = span;
    }

    pub(crate) fn has_dynamic(&self) -> bool {
        !self.dynamic.is_empty()
    }

    /// Nix's `addAttr`: binds `path = value;`, creating or extending nested sets.
    /// `pos` is the span of the whole attribute path.
    pub(crate) fn add_attr(
        &mut self,
        path: Vec<PathElem>,
        value: Expr,
        pos: Span,
    ) -> Result<(), DupAttr> {
        let shown = show_attr_path(&path);
        let mut path = path.into_iter();
        let Some(last) = path.next_back() else {
            return Ok(());
        };
        let mut attrs: &mut AttrsBuilder = self;
        let rest: Vec<PathElem> = path.collect();
        for (idx, elem) in rest.iter().enumerate() {
            match &elem.name {
                AttrName::Static(name) => match attrs.index.get(name).copied() {
                    Some(found) => {
                        let entry = &mut attrs.entries[found];
                        if entry.inherited || !entry.value.make_nested() {
                            return Err(DupAttr {
                                path: shown,
                                span: pos,
                                previous: entry.name_span,
                            });
                        }
                        let Value::Nested(nested) = &mut attrs.entries[found].value else {
                            unreachable!("make_nested returned true")
                        };
                        attrs = nested;
                    }
                    None => {
                        let nested = AttrsBuilder::new(false, pos);
                        attrs.push(
                            name.clone(),
                            nix_pos_span(pos, elem.span),
                            Value::Nested(Box::new(nested)),
                            false,
                        );
                        let Some(Entry {
                            value: Value::Nested(nested),
                            ..
                        }) = attrs.entries.last_mut()
                        else {
                            unreachable!("just pushed")
                        };
                        attrs = nested;
                    }
                },
                AttrName::Dynamic(name) => {
                    // Nothing can reach into a set behind a dynamic key later, so build it now.
                    let mut nested = AttrsBuilder::new(false, pos);
                    let tail = rest[idx + 1..]
                        .iter()
                        .map(|elem| PathElem {
                            name: elem.name.clone(),
                            span: elem.span,
                        })
                        .chain(std::iter::once(last))
                        .collect();
                    nested.add_attr_shown(tail, value, pos, &shown)?;
                    attrs.dynamic.push(DynamicAttr {
                        name: name.clone(),
                        value: nested.finish_expr(),
                    });
                    return Ok(());
                }
            }
        }
        attrs.add_last(last, value, pos, &shown)
    }

    /// `add_attr` for a path whose error text is already known (the tail of a longer path).
    fn add_attr_shown(
        &mut self,
        path: Vec<PathElem>,
        value: Expr,
        pos: Span,
        shown: &str,
    ) -> Result<(), DupAttr> {
        self.add_attr(path, value, pos).map_err(|mut err| {
            err.path = shown.to_string();
            err
        })
    }

    fn add_last(
        &mut self,
        last: PathElem,
        value: Expr,
        pos: Span,
        shown: &str,
    ) -> Result<(), DupAttr> {
        let name = match last.name {
            AttrName::Static(name) => name,
            AttrName::Dynamic(name) => {
                self.dynamic.push(DynamicAttr { name, value });
                return Ok(());
            }
        };
        let Some(found) = self.index.get(&name).copied() else {
            self.push(
                name,
                nix_pos_span(pos, last.span),
                Value::Expr(value),
                false,
            );
            return Ok(());
        };
        // Both sides attribute sets: merge the new static bindings into the old set. Nix 2.8
        // drops the new set's dynamic bindings and `rec` here; so do we.
        let existing = &mut self.entries[found];
        let ExprKind::Attrs(new_attrs) = value.kind else {
            return Err(DupAttr {
                path: shown.to_string(),
                span: pos,
                previous: existing.name_span,
            });
        };
        if existing.inherited || !existing.value.make_nested() {
            return Err(DupAttr {
                path: shown.to_string(),
                span: pos,
                previous: existing.name_span,
            });
        }
        let Value::Nested(target) = &mut existing.value else {
            unreachable!("make_nested returned true")
        };
        for def in new_attrs.attrs {
            if let Some(&old) = target.index.get(&def.name) {
                // Nix reports the old definition, "already defined at" the new one.
                return Err(DupAttr {
                    path: def.name.to_string(),
                    span: target.entries[old].name_span,
                    previous: def.name_span,
                });
            }
            target.push(
                def.name,
                def.name_span,
                Value::Expr(def.value),
                def.inherited,
            );
        }
        Ok(())
    }

    /// `inherit x;` or `inherit (e) x;` (then `value` is `e.x` and `inherited` is false).
    /// `pos` is where nix places every name of the `inherit`: right after the `inherit` keyword,
    /// or after the `)` of `(e)` (see [`AttrDef::name_span`]).
    pub(crate) fn add_inherit(
        &mut self,
        name: Name,
        span: Span,
        pos: u32,
        value: Expr,
        inherited: bool,
    ) -> Result<(), DupAttr> {
        if let Some(&found) = self.index.get(&name) {
            return Err(DupAttr {
                path: name.to_string(),
                span,
                previous: self.entries[found].name_span,
            });
        }
        self.push(
            name,
            Span::new(span.file, pos.min(span.start), span.end),
            Value::Expr(value),
            inherited,
        );
        Ok(())
    }

    fn push(&mut self, name: Name, name_span: Span, value: Value, inherited: bool) {
        self.index.insert(name.clone(), self.entries.len());
        self.entries.push(Entry {
            name,
            name_span,
            value,
            inherited,
        });
    }

    pub(crate) fn finish(self) -> ast::Attrs {
        let attrs = self
            .entries
            .into_iter()
            .map(|entry| AttrDef {
                name: entry.name,
                name_span: entry.name_span,
                value: match entry.value {
                    Value::Expr(expr) => expr,
                    Value::Nested(nested) => nested.finish_expr(),
                },
                inherited: entry.inherited,
            })
            .collect();
        ast::Attrs {
            rec: self.rec,
            attrs,
            dynamic: self.dynamic,
        }
    }

    pub(crate) fn finish_expr(self) -> Expr {
        let span = self.span;
        Expr {
            span,
            kind: ExprKind::Attrs(Box::new(self.finish())),
        }
    }

    fn from_attrs(attrs: ast::Attrs, span: Span) -> AttrsBuilder {
        let mut builder = AttrsBuilder::new(attrs.rec, span);
        for def in attrs.attrs {
            builder.push(
                def.name,
                def.name_span,
                Value::Expr(def.value),
                def.inherited,
            );
        }
        builder.dynamic = attrs.dynamic;
        builder
    }
}

/// A binding's name span as nix positions it: from the start of the whole attribute path (`a`
/// of `a.b.c = …;`, for every name on it) to the end of the name.
fn nix_pos_span(path: Span, name: Span) -> Span {
    Span::new(name.file, path.start.min(name.start), name.end)
}

/// The offset just after the `)` that closes `inherit (e)`, given the end of `e`: only
/// whitespace and comments can stand between them.
pub(crate) fn after_close_paren(text: &str, from: usize) -> usize {
    let mut at = from;
    let bytes = text.as_bytes();
    loop {
        match bytes.get(at) {
            Some(b' ' | b'\t' | b'\r' | b'\n') => at += 1,
            Some(b'#') => at = text[at..].find('\n').map_or(text.len(), |i| at + i),
            Some(b'/') if bytes.get(at + 1) == Some(&b'*') => {
                at = text[at + 2..]
                    .find("*/")
                    .map_or(text.len(), |i| at + 2 + i + 2);
            }
            Some(b')') => return at + 1,
            _ => return at,
        }
    }
}

impl Value {
    /// Turns an attribute-set literal into a builder so nested keys can extend it (Nix extends
    /// any `ExprAttrs`, even a `rec` one). Returns false if the value is not an attribute set.
    fn make_nested(&mut self) -> bool {
        match self {
            Value::Nested(_) => true,
            Value::Expr(Expr {
                kind: ExprKind::Attrs(_),
                ..
            }) => {
                let placeholder = Value::Nested(Box::new(AttrsBuilder::new(
                    false,
                    Span::new(crate::span::FileId(0), 0, 0),
                )));
                let Value::Expr(Expr {
                    span,
                    kind: ExprKind::Attrs(attrs),
                }) = std::mem::replace(self, placeholder)
                else {
                    unreachable!("matched above")
                };
                *self = Value::Nested(Box::new(AttrsBuilder::from_attrs(*attrs, span)));
                true
            }
            Value::Expr(_) => false,
        }
    }
}

/// `a.b."c d".${e}` as Nix's `showAttrPath` prints it in errors.
fn show_attr_path(path: &[PathElem]) -> String {
    let mut out = String::new();
    for (idx, elem) in path.iter().enumerate() {
        if idx > 0 {
            out.push('.');
        }
        match &elem.name {
            AttrName::Static(name) => out.push_str(name),
            AttrName::Dynamic(expr) => {
                out.push_str("\"${");
                out.push_str(&crate::print::print_expr(expr));
                out.push_str("}\"");
            }
        }
    }
    out
}

/// Nix's `unescapeStr` for `"..."` strings: `\n`, `\r`, `\t`, any other `\c` is `c`, and a
/// raw CR or CRLF becomes LF.
pub(crate) fn unescape_str(raw: &str, out: &mut String) {
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('n') => out.push('\n'),
                Some('r') => out.push('\r'),
                Some('t') => out.push('\t'),
                Some(other) => out.push(other),
                None => {}
            },
            '\r' => {
                out.push('\n');
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
            }
            other => out.push(other),
        }
    }
}

/// One token of an indented string: literal text (with `indented` true for plain text, false
/// for escapes such as `''$`), or an interpolation.
pub(crate) enum IndPart {
    Text {
        text: String,
        indented: bool,
        span: Span,
    },
    Interp(Expr),
}

/// Nix's `stripIndentation`, token for token (escapes end leading whitespace when measuring the
/// indentation, but are trimmed like text).
pub(crate) fn strip_indentation(span: Span, parts: Vec<IndPart>) -> Expr {
    if parts.is_empty() {
        return Expr {
            span,
            kind: ExprKind::Str(Arc::from("")),
        };
    }
    let mut at_start = true;
    let mut min_indent = usize::MAX;
    let mut cur_indent = 0usize;
    for part in &parts {
        match part {
            IndPart::Text {
                text,
                indented: true,
                ..
            } => {
                for byte in text.bytes() {
                    if at_start {
                        if byte == b' ' {
                            cur_indent += 1;
                        } else if byte == b'\n' {
                            cur_indent = 0;
                        } else {
                            at_start = false;
                            min_indent = min_indent.min(cur_indent);
                        }
                    } else if byte == b'\n' {
                        at_start = true;
                        cur_indent = 0;
                    }
                }
            }
            _ => {
                if at_start {
                    at_start = false;
                    min_indent = min_indent.min(cur_indent);
                }
            }
        }
    }
    let min_indent = min_indent.min(1_000_000);

    let mut out = Vec::with_capacity(parts.len());
    at_start = true;
    let mut cur_dropped = 0usize;
    let count = parts.len();
    for (idx, part) in parts.into_iter().enumerate() {
        match part {
            IndPart::Interp(expr) => {
                at_start = false;
                cur_dropped = 0;
                out.push(expr);
            }
            IndPart::Text { text, span, .. } => {
                let mut stripped = String::with_capacity(text.len());
                for c in text.chars() {
                    if at_start {
                        if c == ' ' {
                            if cur_dropped >= min_indent {
                                stripped.push(c);
                            }
                            cur_dropped += 1;
                        } else if c == '\n' {
                            cur_dropped = 0;
                            stripped.push(c);
                        } else {
                            at_start = false;
                            cur_dropped = 0;
                            stripped.push(c);
                        }
                    } else {
                        stripped.push(c);
                        if c == '\n' {
                            at_start = true;
                        }
                    }
                }
                // Remove the last line if it is empty and consists only of spaces.
                if idx + 1 == count {
                    if let Some(nl) = stripped.rfind('\n') {
                        if stripped[nl + 1..].bytes().all(|b| b == b' ') {
                            stripped.truncate(nl + 1);
                        }
                    }
                }
                out.push(Expr {
                    span,
                    kind: ExprKind::Str(Arc::from(stripped)),
                });
            }
        }
    }
    if out.len() == 1 && matches!(out[0].kind, ExprKind::Str(_)) {
        let mut only = out.pop().expect("one element");
        only.span = span;
        return only;
    }
    Expr {
        span,
        kind: ExprKind::ConcatStrings {
            force_string: true,
            parts: out,
        },
    }
}

/// Nix's `canonPath` without symlink resolution: drops empty and `.` components, resolves
/// `..` lexically (never above `/`).
pub fn canon_path(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            other => parts.push(other),
        }
    }
    if parts.is_empty() {
        return "/".to_string();
    }
    let mut out = String::with_capacity(path.len());
    for part in parts {
        out.push('/');
        out.push_str(part);
    }
    out
}

/// Nix's `absPath(path, base)` followed by the parser's re-appending of a trailing `/`.
pub(crate) fn resolve_path(literal: &str, base_dir: &str) -> String {
    let mut resolved = if literal.starts_with('/') {
        canon_path(literal)
    } else {
        canon_path(&format!("{base_dir}/{literal}"))
    };
    if literal.len() > 1 && literal.ends_with('/') {
        resolved.push('/');
    }
    resolved
}

/// An integer literal as `boost::lexical_cast<int64_t>` reads it; `None` on overflow.
pub(crate) fn parse_int(text: &str) -> Option<i64> {
    text.parse::<i64>().ok()
}

/// A float literal as glibc's `strtod` reads it; `None` where it sets `ERANGE` (overflow to
/// infinity, or underflow to zero or a subnormal).
pub(crate) fn parse_float(text: &str) -> Option<f64> {
    let value: f64 = text.parse().ok()?;
    if value.is_infinite() {
        return None;
    }
    let mantissa_nonzero = text
        .split(['e', 'E'])
        .next()
        .is_some_and(|mantissa| mantissa.bytes().any(|b| (b'1'..=b'9').contains(&b)));
    if mantissa_nonzero && (value == 0.0 || value.is_subnormal()) {
        return None;
    }
    Some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canon_path_is_lexical() {
        assert_eq!(canon_path("/a/./b/../c//d/"), "/a/c/d");
        assert_eq!(canon_path("/../.."), "/");
        assert_eq!(resolve_path("./a/", "/tmp"), "/tmp/a/");
        assert_eq!(resolve_path("/", "/tmp"), "/");
        assert_eq!(resolve_path("../..", "/tmp"), "/");
    }

    #[test]
    fn floats_follow_strtod_range_errors() {
        assert_eq!(parse_float("1.5e3"), Some(1500.0));
        assert_eq!(parse_float("0.0"), Some(0.0));
        assert_eq!(parse_float("1.0e-310"), None);
        assert_eq!(parse_float("1.0e400"), None);
    }
}
