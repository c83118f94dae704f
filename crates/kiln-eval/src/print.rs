//! Printers with the exact output of `nix-instantiate --eval` 2.8 (`printValue` and
//! `printValueAsJSON`).
//!
//! - Attributes print sorted by name: `{ a = 1; b = [ 2 ]; }`; empty ones as `{ }` and `[ ]`.
//! - Unevaluated values print as `<CODE>`, lambdas `<LAMBDA>`, builtins `<PRIMOP>`, partially
//!   applied builtins `<PRIMOP-APP>`.
//! - A non-empty set or list printed before (anywhere earlier in the output, not only in an
//!   enclosing value) prints as `«repeated»`; identity is the shared `Rc`.
//! - Strings escape `"`, `\`, newline, return, tab and `${`; floats print like C++'s
//!   `ostream << double` (`%g`, six significant digits).
//! - JSON: no trailing newline; a set with `__toString` or `outPath` becomes that string;
//!   functions and (when not strict) thunks are errors.

use crate::builtins::json::write_string as write_json_string;
use crate::error::{ErrorKind, EvalError, EvalResult};
use crate::ops::Coerce;
use crate::value::{ThunkState, Value};
use crate::Evaluator;
use kiln_syntax::format_float;
use std::collections::HashSet;
use std::fmt::Write;

impl Evaluator {
    /// The text `nix-instantiate --eval [--strict]` prints for `value`, without the newline.
    pub fn print(&mut self, value: &Value, strict: bool) -> EvalResult<String> {
        let value = if strict {
            self.force_deep(value)?
        } else {
            self.force(value)?
        };
        let mut out = String::new();
        print_value(&value, None, &mut HashSet::new(), &mut out);
        Ok(out)
    }

    /// The text `nix-instantiate --eval --json [--strict]` prints (no trailing newline).
    pub fn print_json(&mut self, value: &Value, strict: bool) -> EvalResult<String> {
        let mut out = String::new();
        let value = self.force(value)?;
        self.write_json(&value, strict, &mut out)?;
        Ok(out)
    }

    /// Appends `value` as JSON; with `strict`, forces what it meets (as `builtins.toJSON`).
    pub fn write_json(&mut self, value: &Value, strict: bool, out: &mut String) -> EvalResult<()> {
        let value = if strict {
            self.force(value)?
        } else {
            value.clone()
        };
        match &value {
            Value::Null => out.push_str("null"),
            Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Value::Int(n) => {
                let _ = write!(out, "{n}");
            }
            Value::Float(x) => out.push_str(&format_float(*x)),
            Value::String(s) => write_json_string(out, s.as_str()),
            // As `printValueAsJSON`: a path is added to the store.
            Value::Path(p) => {
                let stored = self.copy_path_to_store(p)?;
                write_json_string(out, stored.as_str());
            }
            Value::List(list) => {
                out.push('[');
                for (i, item) in list.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    self.enter(|ev| ev.write_json(item, strict, out))?;
                }
                out.push(']');
            }
            Value::Attrs(attrs) => {
                if attrs.get(self.syms.to_string).is_some() {
                    let s = self.coerce_to_string(&value, Coerce::Interpolation)?;
                    write_json_string(out, s.as_str());
                    return Ok(());
                }
                if let Some(out_path) = attrs.get(self.syms.out_path).cloned() {
                    return self.write_json(&out_path, strict, out);
                }
                out.push('{');
                for (i, entry) in attrs.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write_json_string(out, entry.name.as_str());
                    out.push(':');
                    self.enter(|ev| ev.write_json(&entry.value, strict, out))
                        .map_err(|e| {
                            e.frame(entry.pos, || {
                                format!("while evaluating the attribute `{}`", entry.name)
                            })
                        })?;
                }
                out.push('}');
            }
            Value::Thunk(t) => match t.value() {
                Some(v) => self.write_json(&v, strict, out)?,
                None => return Err(cannot_convert("a thunk")),
            },
            Value::Lambda(_) | Value::PrimOp(_) | Value::PrimOpApp(_) => {
                return Err(cannot_convert("a function"))
            }
        }
        Ok(())
    }
}

fn cannot_convert(what: &str) -> EvalError {
    EvalError::new(ErrorKind::Unsupported {
        message: format!("cannot convert {what} to JSON"),
    })
}

/// Prints a value as `printValue` does; `seen` holds the sets and lists printed so far.
///
/// `slot` is the identity of the thunk the value was reached through, if any. Nix stores lists
/// of one or two elements inside the `Value` itself, so their identity is that of the value
/// slot rather than of a shared array; a small list reached through two different thunks
/// prints twice, one reached through the same thunk twice prints `«repeated»`.
fn print_value(
    value: &Value,
    slot: Option<*const ()>,
    seen: &mut HashSet<*const ()>,
    out: &mut String,
) {
    stacker::maybe_grow(64 * 1024, 1024 * 1024, || {
        print_value_inner(value, slot, seen, out)
    });
}

fn print_value_inner(
    value: &Value,
    slot: Option<*const ()>,
    seen: &mut HashSet<*const ()>,
    out: &mut String,
) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(n) => {
            let _ = write!(out, "{n}");
        }
        Value::Float(x) => out.push_str(&format_float(*x)),
        Value::String(s) => escape_string(s.as_str(), out),
        Value::Path(p) => out.push_str(p),
        Value::Attrs(attrs) => {
            if !attrs.is_empty() && !seen.insert(attrs.ptr()) {
                out.push_str("«repeated»");
                return;
            }
            out.push_str("{ ");
            for entry in attrs.iter() {
                print_attr_name(entry.name.as_str(), out);
                out.push_str(" = ");
                print_value(&entry.value, None, seen, out);
                out.push_str("; ");
            }
            out.push('}');
        }
        Value::List(list) => {
            let identity = match slot {
                Some(slot) if list.len() <= 2 => slot,
                _ => list.ptr(),
            };
            if !list.is_empty() && !seen.insert(identity) {
                out.push_str("«repeated»");
                return;
            }
            out.push_str("[ ");
            for item in list.iter() {
                print_value(item, None, seen, out);
                out.push(' ');
            }
            out.push(']');
        }
        Value::Lambda(_) => out.push_str("<LAMBDA>"),
        Value::PrimOp(_) => out.push_str("<PRIMOP>"),
        Value::PrimOpApp(_) => out.push_str("<PRIMOP-APP>"),
        Value::Thunk(t) => {
            let done = match &*t.0.borrow() {
                ThunkState::Done(v) => Some(v.clone()),
                _ => None,
            };
            match done {
                Some(v) => print_value(&v, Some(std::rc::Rc::as_ptr(&t.0) as *const ()), seen, out),
                None => out.push_str("<CODE>"),
            }
        }
    }
}

/// An attribute name: bare if it is an identifier and not a keyword, else a string literal.
fn print_attr_name(name: &str, out: &mut String) {
    const KEYWORDS: &[&str] = &[
        "if", "then", "else", "assert", "with", "let", "in", "rec", "inherit",
    ];
    let mut chars = name.chars();
    let bare = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '\'' | '-'))
        && !KEYWORDS.contains(&name);
    if bare {
        out.push_str(name);
        return;
    }
    // Unlike string values, quoted names escape every `$`.
    escape(name, true, out);
}

/// A string literal as Nix prints it.
pub fn escape_string(s: &str, out: &mut String) {
    escape(s, false, out);
}

fn escape(s: &str, all_dollars: bool, out: &mut String) {
    out.push('"');
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '$' if all_dollars || chars.peek() == Some(&'{') => out.push_str("\\$"),
            c => out.push(c),
        }
    }
    out.push('"');
}
