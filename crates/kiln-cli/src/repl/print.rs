//! How the REPL shows values: nix repl 2.8's `printValue`, which differs from
//! `nix-instantiate --eval`'s printer (`kiln_eval::print`).
//!
//! - A plain expression prints one level deep: the value and its direct attributes or elements
//!   are evaluated, anything deeper shows as `{ ... }` or `[ ... ]`. `:p` prints everything.
//! - Functions print as `«lambda @ FILE:LINE:COL»`, builtins as `«primop»` and `«primop-app»`,
//!   derivations as `«derivation DRVPATH»` (a derivation-shaped set without a `drvPath` shows
//!   its `name`), a set or list met before as `«repeated»`.
//! - An attribute or element whose evaluation fails prints as `«error: MESSAGE»` and the rest
//!   is still shown, as in nix 2.8; an interrupt ends the printing.
//! - With colour, numbers, Booleans and null are cyan, strings magenta, paths green, functions
//!   blue, as in nix repl.

use kiln_eval::{Catchable, Coerce, ErrorKind, EvalResult, Evaluator, Symbol, Value};
use std::collections::HashSet;

const CYAN: &str = "\x1b[36;1m";
const MAGENTA: &str = "\x1b[35;1m";
const GREEN: &str = "\x1b[32;1m";
const BLUE: &str = "\x1b[34;1m";
const RED: &str = "\x1b[31;1m";
const NORMAL: &str = "\x1b[0m";

/// How much to print.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Depth {
    /// A plain expression: the value and one level inside it.
    Shallow,
    /// `:p`: everything.
    Strict,
}

/// The text nix repl prints for `value`, without the newline.
pub(crate) fn print_value(
    ev: &mut Evaluator,
    value: &Value,
    depth: Depth,
    color: bool,
) -> EvalResult<String> {
    let max_depth = match depth {
        Depth::Shallow => 1,
        Depth::Strict => usize::MAX,
    };
    let mut printer = Printer {
        ev,
        color,
        seen: HashSet::new(),
        out: String::new(),
    };
    printer.value(value, max_depth)?;
    Ok(printer.out)
}

/// [`print_value`], but an error (other than an interrupt) prints as `«error: MESSAGE»`.
pub(crate) fn print_value_or_error(
    ev: &mut Evaluator,
    value: &Value,
    depth: Depth,
    color: bool,
) -> EvalResult<String> {
    match print_value(ev, value, depth, color) {
        Err(err) if !matches!(err.kind(), ErrorKind::Interrupted) => Ok(error_marker(&err, color)),
        other => other,
    }
}

fn error_marker(err: &kiln_eval::EvalError, color: bool) -> String {
    let message = match err.kind() {
        ErrorKind::Catchable(Catchable::Throw(message)) => message.clone(),
        other => other.to_string(),
    };
    let text = format!("«error: {message}»");
    if color {
        format!("{RED}{text}{NORMAL}")
    } else {
        text
    }
}

/// Nix's `showType` for `:t`: "an integer", "a set", "the built-in function 'map'", ...
pub(crate) fn describe_type(value: &Value) -> String {
    match value {
        Value::String(s) if s.has_context() => "a string with context".to_string(),
        Value::PrimOp(op) => format!("the built-in function '{}'", op.name),
        Value::PrimOpApp(app) => {
            format!("the partially applied built-in function '{}'", app.op.name)
        }
        other => other.type_phrase().to_string(),
    }
}

struct Printer<'a> {
    ev: &'a mut Evaluator,
    color: bool,
    /// Sets and lists printed so far, by the address of their shared contents.
    seen: HashSet<*const ()>,
    out: String,
}

impl Printer<'_> {
    fn paint(&mut self, color: &str, text: &str) {
        if self.color {
            self.out.push_str(color);
            self.out.push_str(text);
            self.out.push_str(NORMAL);
        } else {
            self.out.push_str(text);
        }
    }

    /// Prints an element of a set or list: an error (other than an interrupt) becomes
    /// `«error: …»` and the rest of the value still prints.
    fn child(&mut self, value: &Value, max_depth: usize) -> EvalResult<()> {
        let mark = self.out.len();
        match self.value(value, max_depth) {
            Err(err) if !matches!(err.kind(), ErrorKind::Interrupted) => {
                self.out.truncate(mark);
                self.out.push_str(&error_marker(&err, self.color));
                Ok(())
            }
            other => other,
        }
    }

    fn value(&mut self, value: &Value, max_depth: usize) -> EvalResult<()> {
        let value = self.ev.force(value)?;
        match &value {
            Value::Null => self.paint(CYAN, "null"),
            Value::Bool(b) => self.paint(CYAN, if *b { "true" } else { "false" }),
            Value::Int(n) => self.paint(CYAN, &n.to_string()),
            Value::Float(x) => self.out.push_str(&kiln_syntax::format_float(*x)),
            Value::String(s) => {
                let mut quoted = String::new();
                kiln_eval::print::escape_string(s.as_str(), &mut quoted);
                self.paint(MAGENTA, &quoted);
            }
            Value::Path(p) => self.paint(GREEN, p),
            Value::Lambda(closure) => {
                let span = closure.span();
                let sources = self.ev.sources();
                let (line, col) = sources.line_col(span.file, span.start);
                // Nix shows text that is not from a file as `(string)` in positions.
                let name = match sources.get(span.file).name.as_str() {
                    "«string»" => "(string)".to_string(),
                    name => name.to_string(),
                };
                self.paint(BLUE, &format!("«lambda @ {name}:{line}:{col}»"));
            }
            Value::PrimOp(_) => self.paint(MAGENTA, "«primop»"),
            Value::PrimOpApp(_) => self.paint(BLUE, "«primop-app»"),
            Value::Attrs(attrs) => {
                self.seen.insert(attrs.entries().as_ptr() as *const ());
                if is_derivation(self.ev, &value)? {
                    let shown = self.derivation_name(&value);
                    self.out.push_str(&format!("«derivation {shown}»"));
                } else if max_depth == 0 {
                    self.out.push_str("{ ... }");
                } else {
                    self.out.push_str("{ ");
                    // Sets keep their entries in symbol order; nix repl prints them by name.
                    let mut entries: Vec<_> = attrs.iter().collect();
                    entries.sort_by_key(|entry| entry.name.as_str());
                    for entry in entries {
                        let name = entry.name.as_str();
                        if crate::repl::command::is_var_name(name) {
                            self.out.push_str(name);
                        } else {
                            kiln_eval::print::escape_string(name, &mut self.out);
                        }
                        self.out.push_str(" = ");
                        if self.is_repeated(&entry.value) {
                            self.out.push_str("«repeated»");
                        } else {
                            self.child(&entry.value, max_depth - 1)?;
                        }
                        self.out.push_str("; ");
                    }
                    self.out.push('}');
                }
            }
            Value::List(list) => {
                self.seen.insert(list.items().as_ptr() as *const ());
                self.out.push_str("[ ");
                if max_depth == 0 {
                    self.out.push_str("... ");
                } else {
                    for item in list.iter() {
                        if self.is_repeated(item) {
                            self.out.push_str("«repeated»");
                        } else {
                            self.child(item, max_depth - 1)?;
                        }
                        self.out.push(' ');
                    }
                }
                self.out.push(']');
            }
            Value::Thunk(_) => self.out.push_str("«thunk»"),
        }
        Ok(())
    }

    /// A non-empty set or list that was printed before (an unevaluated value never is).
    fn is_repeated(&self, value: &Value) -> bool {
        match value {
            Value::Attrs(a) if !a.is_empty() => {
                self.seen.contains(&(a.entries().as_ptr() as *const ()))
            }
            Value::List(l) if !l.is_empty() => {
                self.seen.contains(&(l.items().as_ptr() as *const ()))
            }
            Value::Thunk(t) => t.value().is_some_and(|v| self.is_repeated(&v)),
            _ => false,
        }
    }

    /// The `drvPath`, else the `name`, else `???`; errors on the way show as `???`.
    fn derivation_name(&mut self, value: &Value) -> String {
        let Value::Attrs(attrs) = value else {
            return "???".to_string();
        };
        for key in ["drvPath", "name"] {
            if let Some(v) = attrs.get(Symbol::intern(key)).cloned() {
                if let Ok(s) = self.ev.coerce_to_string(&v, Coerce::Interpolation) {
                    return s.as_str().to_string();
                }
            }
        }
        "???".to_string()
    }
}

/// A set whose `type` is `"derivation"` (Nix's `isDerivation`).
pub(crate) fn is_derivation(ev: &mut Evaluator, value: &Value) -> EvalResult<bool> {
    let Value::Attrs(attrs) = value else {
        return Ok(false);
    };
    match attrs.get(Symbol::intern("type")).cloned() {
        Some(t) => Ok(matches!(ev.force(&t)?, Value::String(s) if s.as_str() == "derivation")),
        None => Ok(false),
    }
}
