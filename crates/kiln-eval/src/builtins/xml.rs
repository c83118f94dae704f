//! Builtins of the `xml` family: `toXML`, written by a copy of Nix 2.8's `XMLWriter`, byte for
//! byte.
//!
//! Elements are indented by two spaces per level, attributes are sorted by name (Nix keeps them
//! in a `std::map`), and attribute values escape `"`, `<`, `>`, `&` and newline (as `&#xA;`) but
//! nothing else.

use std::collections::HashSet;

use super::Builtin;
use crate::{Attrs, Context, EvalResult, Evaluator, NixString, Value};
use kiln_syntax::format_float;

pub(crate) const BUILTINS: &[Builtin] = &[Builtin {
    name: "toXML",
    arity: 1,
    func: to_xml,
}];

fn to_xml(ev: &mut Evaluator, args: &[Value]) -> EvalResult<Value> {
    let mut doc = XmlWriter::new();
    let mut context = None;
    let mut drvs_seen = HashSet::new();
    doc.open("expr", &[]);
    write_xml_value(ev, &args[0], &mut doc, &mut context, &mut drvs_seen)?;
    Ok(Value::String(NixString::with_context(
        doc.finish(),
        context,
    )))
}

/// How deeply `toXML` nests elements before it gives up with nix's "stack overflow". nix 2.8 has
/// no limit of its own but its C stack, and its output grows with the square of the depth (each
/// line is indented): 3 GB at 40 000 levels. kiln stops at 10 000 (200 MB), so that a deep or
/// cyclic value (`let x = { a = x; }; in x`) is an error in bounded memory, never an
/// exhausted machine.
const MAX_XML_DEPTH: usize = 10_000;

/// `printValueAsXML` with `strict = true` and `location = false`.
fn write_xml_value(
    ev: &mut Evaluator,
    value: &Value,
    doc: &mut XmlWriter,
    context: &mut Context,
    drvs_seen: &mut HashSet<String>,
) -> EvalResult<()> {
    if doc.open.len() > MAX_XML_DEPTH {
        return Err(crate::EvalError::new(crate::ErrorKind::StackOverflow));
    }
    let value = ev.force(value)?;
    match &value {
        Value::Null => doc.empty("null", &[]),
        Value::Bool(b) => doc.empty("bool", &[("value", if *b { "true" } else { "false" })]),
        Value::Int(n) => doc.empty("int", &[("value", &n.to_string())]),
        Value::Float(x) => doc.empty("float", &[("value", &format_float(*x))]),
        Value::String(s) => {
            NixString::merge_context(context, s.context());
            doc.empty("string", &[("value", s.as_str())]);
        }
        Value::Path(p) => doc.empty("path", &[("value", p)]),
        Value::List(list) => {
            doc.open("list", &[]);
            for item in list.iter() {
                grow(|| write_xml_value(ev, item, doc, context, drvs_seen))?;
            }
            doc.close();
        }
        Value::Attrs(attrs) => {
            if ev.is_derivation(attrs)? {
                let mut drv_path = None;
                let mut out_path = None;
                if let Some(v) = attrs.get_str("drvPath") {
                    if let Value::String(s) = ev.force(&v.clone())? {
                        drv_path = Some(s.as_str().to_owned());
                    }
                }
                if let Some(v) = attrs.get_str("outPath") {
                    if let Value::String(s) = ev.force(&v.clone())? {
                        out_path = Some(s.as_str().to_owned());
                    }
                }
                let mut xml_attrs: Vec<(&str, &str)> = Vec::new();
                if let Some(p) = &drv_path {
                    xml_attrs.push(("drvPath", p));
                }
                if let Some(p) = &out_path {
                    xml_attrs.push(("outPath", p));
                }
                doc.open("derivation", &xml_attrs);
                let first_time = match &drv_path {
                    Some(p) if !p.is_empty() => drvs_seen.insert(p.clone()),
                    _ => false,
                };
                if first_time {
                    write_xml_attrs(ev, attrs, doc, context, drvs_seen)?;
                } else {
                    doc.empty("repeated", &[]);
                }
                doc.close();
            } else {
                doc.open("attrs", &[]);
                write_xml_attrs(ev, attrs, doc, context, drvs_seen)?;
                doc.close();
            }
        }
        Value::Lambda(closure) => {
            doc.open("function", &[]);
            let lambda = &closure.lambda;
            let arg = lambda.arg.map(|s| s.as_str());
            match &lambda.formals {
                Some(formals) => {
                    let mut xml_attrs: Vec<(&str, &str)> = Vec::new();
                    if formals.ellipsis {
                        xml_attrs.push(("ellipsis", "1"));
                    }
                    if let Some(arg) = arg {
                        xml_attrs.push(("name", arg));
                    }
                    doc.open("attrspat", &xml_attrs);
                    let mut names: Vec<&str> =
                        formals.entries.iter().map(|f| f.name.as_str()).collect();
                    names.sort_unstable();
                    for name in names {
                        doc.empty("attr", &[("name", name)]);
                    }
                    doc.close();
                }
                None => doc.empty("varpat", &[("name", arg.unwrap_or(""))]),
            }
            doc.close();
        }
        Value::PrimOp(_) | Value::PrimOpApp(_) | Value::Thunk(_) => doc.empty("unevaluated", &[]),
    }
    Ok(())
}

fn write_xml_attrs(
    ev: &mut Evaluator,
    attrs: &Attrs,
    doc: &mut XmlWriter,
    context: &mut Context,
    drvs_seen: &mut HashSet<String>,
) -> EvalResult<()> {
    for entry in attrs.iter() {
        doc.open("attr", &[("name", entry.name.as_str())]);
        grow(|| write_xml_value(ev, &entry.value, doc, context, drvs_seen)).map_err(|e| {
            e.frame(entry.pos, || {
                format!("while evaluating the attribute `{}`", entry.name.as_str())
            })
        })?;
        doc.close();
    }
    Ok(())
}

fn grow<T>(f: impl FnOnce() -> T) -> T {
    stacker::maybe_grow(64 * 1024, 1024 * 1024, f)
}

/// Accumulates an XML document the way Nix's `XMLWriter` prints one.
pub(crate) struct XmlWriter {
    out: String,
    open: Vec<&'static str>,
}

impl XmlWriter {
    /// Starts a document with Nix's XML declaration.
    pub(crate) fn new() -> XmlWriter {
        XmlWriter {
            out: String::from("<?xml version='1.0' encoding='utf-8'?>\n"),
            open: Vec::new(),
        }
    }

    /// Opens `<name attrs>` on its own line; `attrs` must be sorted by name.
    pub(crate) fn open(&mut self, name: &'static str, attrs: &[(&str, &str)]) {
        self.start_tag(name, attrs);
        self.out.push_str(">\n");
        self.open.push(name);
    }

    /// Closes the innermost open element.
    pub(crate) fn close(&mut self) {
        if let Some(name) = self.open.pop() {
            self.indent();
            self.out.push_str("</");
            self.out.push_str(name);
            self.out.push_str(">\n");
        }
    }

    /// Writes `<name attrs />`; `attrs` must be sorted by name.
    pub(crate) fn empty(&mut self, name: &'static str, attrs: &[(&str, &str)]) {
        self.start_tag(name, attrs);
        self.out.push_str(" />\n");
    }

    /// Closes every open element and returns the document.
    pub(crate) fn finish(mut self) -> String {
        while !self.open.is_empty() {
            self.close();
        }
        self.out
    }

    fn indent(&mut self) {
        for _ in 0..self.open.len() {
            self.out.push_str("  ");
        }
    }

    fn start_tag(&mut self, name: &str, attrs: &[(&str, &str)]) {
        self.indent();
        self.out.push('<');
        self.out.push_str(name);
        for (key, value) in attrs {
            self.out.push(' ');
            self.out.push_str(key);
            self.out.push_str("=\"");
            escape_into(&mut self.out, value);
            self.out.push('"');
        }
    }
}

impl Default for XmlWriter {
    fn default() -> Self {
        XmlWriter::new()
    }
}

fn escape_into(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '"' => out.push_str("&quot;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\n' => out.push_str("&#xA;"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_like_nix() {
        let mut doc = XmlWriter::new();
        doc.open("expr", &[]);
        doc.open("attrs", &[]);
        doc.empty("string", &[("value", "x<>&\"'\n\té")]);
        doc.close();
        assert_eq!(
            doc.finish(),
            "<?xml version='1.0' encoding='utf-8'?>\n<expr>\n  <attrs>\n    \
             <string value=\"x&lt;&gt;&amp;&quot;'&#xA;\té\" />\n  </attrs>\n</expr>\n"
        );
    }

    #[test]
    fn to_xml_values() {
        use super::super::context::testing::{builtin, call, list};
        use crate::Value;
        assert_eq!(
            call("toXML", &[list(vec![Value::Int(1), Value::Float(0.5), builtin("add")])]),
            "\"<?xml version='1.0' encoding='utf-8'?>\\n<expr>\\n  <list>\\n    <int value=\\\"1\\\" />\\n    \
             <float value=\\\"0.5\\\" />\\n    <unevaluated />\\n  </list>\\n</expr>\\n\""
        );
    }
}
