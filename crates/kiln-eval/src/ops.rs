//! Operators with Nix 2.8's semantics: arithmetic (`__sub` and friends, `+`), comparison
//! (`__lessThan`), deep equality and string coercion.
//!
//! - Integer arithmetic wraps on overflow, as Nix 2.8 does in practice (its C++ overflows).
//!   Dividing `i64::MIN` by `-1` is an error, as in Nix.
//! - An integer and a float make a float.
//! - `+` follows the type of its first operand: numbers add, a path absorbs strings (and stays
//!   a path, canonicalised), anything else concatenates as strings.
//! - Deliberate difference: Nix copies a path to its store when it is interpolated into a
//!   string (`"${./a}"` is `/nix/store/…-a`); kiln keeps the path itself (`/abs/a`), because
//!   kiln's store is filled by the build driver, not by evaluation.

use crate::error::{ErrorKind, EvalError, EvalResult};
use crate::ir::ArithOp;
use crate::value::{Context, NixString, Value};
use crate::Evaluator;
use kiln_syntax::{canon_path, Span};

/// How far `coerce_to_string` goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Coerce {
    /// `"${x}"` and `+`: strings, paths, sets with `__toString` or `outPath`. A path is
    /// added to the store and becomes its store path (Nix's `copyToStore`).
    Interpolation,
    /// As `Interpolation`, but a path stays its own text (`baseNameOf`, `dirOf`, the rest of
    /// `path + ...`).
    KeepPaths,
    /// `toString x`: also null, Booleans, numbers and lists; a path stays its own text.
    ToString,
}

fn unsupported(message: String) -> EvalError {
    EvalError::new(ErrorKind::Unsupported { message })
}

impl Evaluator {
    pub(crate) fn arith(&mut self, op: ArithOp, lhs: &Value, rhs: &Value) -> EvalResult<Value> {
        match op {
            ArithOp::Sub => self.sub(lhs, rhs),
            ArithOp::Mul => self.mul(lhs, rhs),
            ArithOp::Div => self.div(lhs, rhs),
            ArithOp::LessThan => Ok(Value::Bool(self.less_than(lhs, rhs)?)),
        }
    }

    pub(crate) fn sub(&mut self, lhs: &Value, rhs: &Value) -> EvalResult<Value> {
        let (a, b) = (self.force(lhs)?, self.force(rhs)?);
        match (&a, &b) {
            (Value::Int(x), Value::Int(y)) => Ok(Value::Int(x.wrapping_sub(*y))),
            (Value::Float(_), _) | (_, Value::Float(_)) => {
                Ok(Value::Float(self.force_float(&a)? - self.force_float(&b)?))
            }
            _ => Ok(Value::Int(
                self.force_int(&a)?.wrapping_sub(self.force_int(&b)?),
            )),
        }
    }

    pub(crate) fn mul(&mut self, lhs: &Value, rhs: &Value) -> EvalResult<Value> {
        let (a, b) = (self.force(lhs)?, self.force(rhs)?);
        match (&a, &b) {
            (Value::Int(x), Value::Int(y)) => Ok(Value::Int(x.wrapping_mul(*y))),
            (Value::Float(_), _) | (_, Value::Float(_)) => {
                Ok(Value::Float(self.force_float(&a)? * self.force_float(&b)?))
            }
            _ => Ok(Value::Int(
                self.force_int(&a)?.wrapping_mul(self.force_int(&b)?),
            )),
        }
    }

    pub(crate) fn add(&mut self, lhs: &Value, rhs: &Value) -> EvalResult<Value> {
        let (a, b) = (self.force(lhs)?, self.force(rhs)?);
        match (&a, &b) {
            (Value::Int(x), Value::Int(y)) => Ok(Value::Int(x.wrapping_add(*y))),
            (Value::Float(_), _) | (_, Value::Float(_)) => {
                Ok(Value::Float(self.force_float(&a)? + self.force_float(&b)?))
            }
            _ => Ok(Value::Int(
                self.force_int(&a)?.wrapping_add(self.force_int(&b)?),
            )),
        }
    }

    pub(crate) fn div(&mut self, lhs: &Value, rhs: &Value) -> EvalResult<Value> {
        let (a, b) = (self.force(lhs)?, self.force(rhs)?);
        if self.force_float(&b)? == 0.0 {
            return Err(EvalError::new(ErrorKind::DivisionByZero));
        }
        match (&a, &b) {
            (Value::Float(_), _) | (_, Value::Float(_)) => {
                Ok(Value::Float(self.force_float(&a)? / self.force_float(&b)?))
            }
            _ => {
                let (x, y) = (self.force_int(&a)?, self.force_int(&b)?);
                if x == i64::MIN && y == -1 {
                    return Err(unsupported("overflow in integer division".into()));
                }
                Ok(Value::Int(x / y))
            }
        }
    }

    /// `a < b` for numbers, strings, paths and lists (lexicographically).
    pub fn less_than(&mut self, lhs: &Value, rhs: &Value) -> EvalResult<bool> {
        // Integers (what `sort` mostly compares) without forcing, cloning and dropping.
        if let (Value::Int(x), Value::Int(y)) = (lhs, rhs) {
            return Ok(x < y);
        }
        let (a, b) = (self.force(lhs)?, self.force(rhs)?);
        match (&a, &b) {
            (Value::Int(x), Value::Int(y)) => Ok(x < y),
            (Value::Int(x), Value::Float(y)) => Ok((*x as f64) < *y),
            (Value::Float(x), Value::Int(y)) => Ok(*x < (*y as f64)),
            (Value::Float(x), Value::Float(y)) => Ok(x < y),
            (Value::String(x), Value::String(y)) => Ok(x.as_str() < y.as_str()),
            (Value::Path(x), Value::Path(y)) => Ok(x < y),
            (Value::List(x), Value::List(y)) => {
                for i in 0.. {
                    match (x.get(i), y.get(i)) {
                        (_, None) => return Ok(false),
                        (None, Some(_)) => return Ok(true),
                        (Some(p), Some(q)) => {
                            if !self.equal_stored(p, q)? {
                                return self.enter(|ev| ev.less_than(p, q));
                            }
                        }
                    }
                }
                Ok(false)
            }
            _ if a.type_of() != b.type_of() => Err(unsupported(format!(
                "cannot compare {} with {}",
                a.type_phrase(),
                b.type_phrase()
            ))),
            // nix 2.8's wording; only numbers, strings, paths and lists compare.
            _ => Err(unsupported(format!(
                "cannot compare {} with {}",
                a.type_phrase(),
                b.type_phrase()
            ))),
        }
    }

    /// Deep equality (`==`): functions are never equal; two derivations compare by `outPath`.
    pub fn equal(&mut self, lhs: &Value, rhs: &Value) -> EvalResult<bool> {
        let (a, b) = (self.force(lhs)?, self.force(rhs)?);
        self.equal_forced(a, b)
    }

    /// Equality of two values stored in lists, sets or arguments. Nix compares such values by
    /// address first, so a shared thunk or builtin is equal to itself even when it is a
    /// function (`let f = x: x; in [ f ] == [ f ]` is true, `f == f` is false).
    pub fn equal_stored(&mut self, lhs: &Value, rhs: &Value) -> EvalResult<bool> {
        match (lhs, rhs) {
            (Value::Thunk(a), Value::Thunk(b)) if std::rc::Rc::ptr_eq(&a.0, &b.0) => {
                return Ok(true)
            }
            (Value::PrimOp(a), Value::PrimOp(b)) if std::ptr::eq(*a, *b) => return Ok(true),
            _ => {}
        }
        let (a, b) = (self.force(lhs)?, self.force(rhs)?);
        // Through `enter`: values may nest deeper than the native stack.
        self.enter(|ev| ev.equal_forced(a, b))
    }

    pub(crate) fn equal_forced(&mut self, a: Value, b: Value) -> EvalResult<bool> {
        Ok(match (&a, &b) {
            (Value::Int(x), Value::Float(y)) | (Value::Float(y), Value::Int(x)) => {
                (*x as f64) == *y
            }
            (Value::Int(x), Value::Int(y)) => x == y,
            (Value::Float(x), Value::Float(y)) => x == y,
            (Value::Bool(x), Value::Bool(y)) => x == y,
            (Value::Null, Value::Null) => true,
            (Value::String(x), Value::String(y)) => x.as_str() == y.as_str(),
            (Value::Path(x), Value::Path(y)) => x == y,
            (Value::List(x), Value::List(y)) => {
                if x.len() != y.len() {
                    return Ok(false);
                }
                for (p, q) in x.iter().zip(y.iter()) {
                    if !self.equal_stored(p, q)? {
                        return Ok(false);
                    }
                }
                true
            }
            (Value::Attrs(x), Value::Attrs(y)) => {
                if self.is_derivation(x)? && self.is_derivation(y)? {
                    if let (Some(p), Some(q)) =
                        (x.get(self.syms.out_path), y.get(self.syms.out_path))
                    {
                        let (p, q) = (p.clone(), q.clone());
                        return self.equal_stored(&p, &q);
                    }
                }
                if x.len() != y.len() {
                    return Ok(false);
                }
                for (p, q) in x.iter().zip(y.iter()) {
                    if p.name != q.name || !self.equal_stored(&p.value, &q.value)? {
                        return Ok(false);
                    }
                }
                true
            }
            _ => false,
        })
    }

    /// Whether a set has `type = "derivation"`.
    pub fn is_derivation(&mut self, attrs: &crate::Attrs) -> EvalResult<bool> {
        match attrs.get(self.syms.type_) {
            Some(t) => {
                let t = t.clone();
                Ok(matches!(self.force(&t)?, Value::String(s) if s.as_str() == "derivation"))
            }
            None => Ok(false),
        }
    }

    /// Coerces a value to a string, collecting its context.
    pub fn coerce_to_string(&mut self, value: &Value, mode: Coerce) -> EvalResult<NixString> {
        let forced;
        let value = match value {
            Value::Thunk(_) => {
                forced = self.force(value)?;
                &forced
            }
            _ => value,
        };
        // A string is its own coercion: share it rather than copy it. An integer gets a string
        // of exactly its length, with no buffer that grows.
        match value {
            Value::String(s) => return Ok(s.clone()),
            Value::Int(n) if mode == Coerce::ToString => {
                return Ok(NixString::from_compact(int_to_string(*n), None));
            }
            _ => {}
        }
        let mut context = None;
        let mut out = String::new();
        self.coerce_into(value, mode, &mut out, &mut context)?;
        Ok(NixString::with_context(out, context))
    }

    /// Coerces a value to a string appended to `out`, adding its context to `context`.
    pub(crate) fn coerce_into(
        &mut self,
        value: &Value,
        mode: Coerce,
        out: &mut String,
        context: &mut Context,
    ) -> EvalResult<()> {
        let v = self.force(value)?;
        match &v {
            Value::String(s) => {
                out.push_str(s.as_str());
                NixString::merge_context(context, s.context());
                return Ok(());
            }
            Value::Path(p) if mode == Coerce::Interpolation => {
                let stored = self.copy_path_to_store(p)?;
                out.push_str(stored.as_str());
                NixString::merge_context(context, stored.context());
                return Ok(());
            }
            Value::Path(p) => {
                out.push_str(p);
                return Ok(());
            }
            Value::Attrs(attrs) => {
                if let Some(f) = attrs.get(self.syms.to_string).cloned() {
                    let result = self.call(&f, v.clone())?;
                    return self.coerce_into(&result, mode, out, context);
                }
                if let Some(out_path) = attrs.get(self.syms.out_path).cloned() {
                    return self.coerce_into(&out_path, mode, out, context);
                }
            }
            _ => {}
        }
        if mode == Coerce::ToString {
            match &v {
                Value::Bool(true) => out.push('1'),
                Value::Bool(false) | Value::Null => {}
                Value::Int(n) => push_int(out, *n),
                // C's `std::to_string(double)`: `%f`, and `nan`/`-nan` for NaN.
                Value::Float(x) if x.is_nan() => {
                    out.push_str(if x.is_sign_negative() { "-nan" } else { "nan" })
                }
                Value::Float(x) => out.push_str(&format!("{x:.6}")),
                Value::List(list) => {
                    let n = list.len();
                    for (i, item) in list.iter().enumerate() {
                        let item = self.force(item)?;
                        match &item {
                            // The common leaves directly; anything else one level deeper.
                            Value::Int(n) => push_int(out, *n),
                            Value::String(s) => {
                                out.push_str(s.as_str());
                                NixString::merge_context(context, s.context());
                            }
                            _ => self.enter(|ev| ev.coerce_into(&item, mode, out, context))?,
                        }
                        if i + 1 < n && !matches!(&item, Value::List(l) if l.is_empty()) {
                            out.push(' ');
                        }
                    }
                }
                _ => {
                    return Err(unsupported(format!(
                        "cannot coerce {} to a string",
                        v.type_phrase()
                    )))
                }
            }
            return Ok(());
        }
        Err(unsupported(format!(
            "cannot coerce {} to a string",
            v.type_phrase()
        )))
    }

    /// `a + b + …` and string interpolation (`ExprConcatStrings`).
    pub(crate) fn concat_strings(
        &mut self,
        force_string: bool,
        parts: &[(Value, Span)],
    ) -> EvalResult<Value> {
        enum Acc {
            Int(i64),
            Float(f64),
            Str(String, Context, bool),
        }
        let mut acc: Option<Acc> = None;
        for (value, span) in parts {
            let at = |e: EvalError| e.at(*span);
            acc = Some(match acc {
                None if !force_string => match value {
                    Value::Int(n) => Acc::Int(*n),
                    Value::Float(x) => Acc::Float(*x),
                    Value::Path(p) => Acc::Str(p.to_string(), None, true),
                    other => {
                        let s = self
                            .coerce_to_string(other, Coerce::Interpolation)
                            .map_err(at)?;
                        Acc::Str(s.as_str().to_string(), s.context().clone(), false)
                    }
                },
                None => {
                    let s = self
                        .coerce_to_string(value, Coerce::Interpolation)
                        .map_err(at)?;
                    Acc::Str(s.as_str().to_string(), s.context().clone(), false)
                }
                Some(Acc::Int(n)) => match value {
                    Value::Int(m) => Acc::Int(n.wrapping_add(*m)),
                    Value::Float(x) => Acc::Float(n as f64 + x),
                    other => {
                        return Err(at(unsupported(format!(
                            "cannot add {} to an integer",
                            other.type_phrase()
                        ))))
                    }
                },
                Some(Acc::Float(x)) => match value {
                    Value::Int(m) => Acc::Float(x + *m as f64),
                    Value::Float(y) => Acc::Float(x + y),
                    other => {
                        return Err(at(unsupported(format!(
                            "cannot add {} to a float",
                            other.type_phrase()
                        ))))
                    }
                },
                Some(Acc::Str(mut s, mut ctx, is_path)) => {
                    // Nix copies paths to the store only when the result is a string.
                    let mode = if is_path {
                        Coerce::KeepPaths
                    } else {
                        Coerce::Interpolation
                    };
                    self.coerce_into(value, mode, &mut s, &mut ctx)
                        .map_err(at)?;
                    Acc::Str(s, ctx, is_path)
                }
            });
        }
        Ok(match acc {
            None => Value::string(""),
            Some(Acc::Int(n)) => Value::Int(n),
            Some(Acc::Float(x)) => Value::Float(x),
            Some(Acc::Str(s, ctx, true)) => {
                if ctx.is_some() {
                    return Err(unsupported(
                        "a string that refers to a store path cannot be appended to a path".into(),
                    ));
                }
                Value::path(canon_path(&s))
            }
            Some(Acc::Str(s, ctx, false)) => Value::String(NixString::with_context(s, ctx)),
        })
    }
}

/// Appends the decimal digits of `n`, as `format!("{n}")` would but without the formatting
/// machinery (`toString` of many integers spends most of its time there).
///
/// Four digits at a time, sliced from a table of "0000" to "9999": the digits are a `str`
/// already, so they need no UTF-8 check at run time. Rejected, measured with callgrind on
/// `toString` of 2·10⁵ integers: digits written into a byte buffer and checked with
/// `str::from_utf8` (the check alone cost as much as the digits), pushed one `char` at a time,
/// or through `fmt` (both about twice the instructions).
#[inline(always)]
pub(crate) fn push_int(out: &mut impl TextBuf, n: i64) {
    if n < 0 {
        out.push('-');
    }
    let mut rest = n.unsigned_abs();
    // `u64::MAX` has 20 digits: at most four groups of four below the leading one.
    let mut groups = [0u16; 4];
    let mut n_groups = 0;
    while rest >= 10_000 {
        groups[n_groups] = (rest % 10_000) as u16;
        rest /= 10_000;
        n_groups += 1;
    }
    // The leading group without its leading zeros. One arm per length, so that each copy has
    // a length known at compile time and needs no call to `memcpy`.
    let lead = usize::from(rest as u16);
    let quad = &DIGIT_QUADS[4 * lead..4 * lead + 4];
    match lead {
        0..=9 => out.push_str(&quad[3..]),
        10..=99 => out.push_str(&quad[2..]),
        100..=999 => out.push_str(&quad[1..]),
        _ => out.push_str(quad),
    }
    for &group in groups[..n_groups].iter().rev() {
        let group = usize::from(group);
        out.push_str(&DIGIT_QUADS[4 * group..4 * group + 4]);
    }
}

/// The decimal digits of `n` in a string of exactly their length (held inline: at most 20).
pub(crate) fn int_to_string(n: i64) -> compact_str::CompactString {
    let mut out = compact_str::CompactString::const_new("");
    push_int(&mut out, n);
    out
}

/// A text `push_int` appends to.
pub(crate) trait TextBuf {
    fn push_str(&mut self, s: &str);
    fn push(&mut self, c: char);
}

impl TextBuf for String {
    fn push_str(&mut self, s: &str) {
        String::push_str(self, s);
    }
    fn push(&mut self, c: char) {
        String::push(self, c);
    }
}

impl TextBuf for compact_str::CompactString {
    fn push_str(&mut self, s: &str) {
        compact_str::CompactString::push_str(self, s);
    }
    fn push(&mut self, c: char) {
        compact_str::CompactString::push(self, c);
    }
}

/// "0000", "0001", ..., "9999", checked to be UTF-8 at compile time.
static DIGIT_QUADS: &str = match std::str::from_utf8(&DIGIT_QUAD_BYTES) {
    Ok(s) => s,
    Err(_) => panic!("ASCII digits are UTF-8"),
};

static DIGIT_QUAD_BYTES: [u8; 40_000] = {
    let mut bytes = [0u8; 40_000];
    let mut i = 0;
    while i < 10_000 {
        bytes[4 * i] = b'0' + (i / 1000) as u8;
        bytes[4 * i + 1] = b'0' + (i / 100 % 10) as u8;
        bytes[4 * i + 2] = b'0' + (i / 10 % 10) as u8;
        bytes[4 * i + 3] = b'0' + (i % 10) as u8;
        i += 1;
    }
    bytes
};

#[cfg(test)]
mod tests {
    use super::{int_to_string, push_int};

    #[test]
    fn push_int_matches_format() {
        for n in [
            0,
            1,
            -1,
            9,
            10,
            -10,
            99,
            100,
            -100,
            999,
            1000,
            9999,
            10000,
            12345,
            i64::MAX,
            i64::MIN,
            i64::MIN + 1,
        ]
        .into_iter()
        .chain(-100_000..100_000)
        .chain((0..63).flat_map(|k| {
            let p = 1i64 << k;
            [
                p - 1,
                p,
                -p,
                10i64.saturating_pow(k / 3),
                10i64.saturating_pow(k / 3) - 1,
            ]
        })) {
            let mut out = String::from("x");
            push_int(&mut out, n);
            assert_eq!(out, format!("x{n}"));
            let exact = int_to_string(n);
            assert_eq!(exact, n.to_string());
            // At most 20 digits and a sign: always held inline, never allocated.
            assert!(!exact.is_heap_allocated());
        }
    }
}
