//! deb822, the `Field: value` paragraph format of Debian's control files, `Packages`,
//! `Release` and apt's `.sources` files.
//!
//! Paragraphs are separated by blank lines; a line starting with a space or tab continues the
//! previous field; lines starting with `#` are comments (allowed by apt's sources format, and
//! harmless elsewhere). Field names compare case-insensitively. Values borrow from the input
//! unless they span several lines, so parsing a 60 000-package index allocates little.

use crate::error::{DebianError, DebianResult};
use std::borrow::Cow;

/// One paragraph: its fields in order, and the line it starts on (1-based).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Paragraph<'a> {
    pub line: usize,
    pub fields: Vec<(&'a str, Cow<'a, str>)>,
}

impl<'a> Paragraph<'a> {
    /// The value of `name` (case-insensitive), trimmed; multi-line values keep their newlines.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.trim())
    }
}

/// Splits `text` into paragraphs. `what` names the input in errors.
pub fn parse<'a>(text: &'a str, what: &str) -> DebianResult<Vec<Paragraph<'a>>> {
    let mut paragraphs = Vec::new();
    let mut current: Option<Paragraph<'_>> = None;
    for (line_idx, line) in text.lines().enumerate() {
        let line_no = line_idx + 1;
        let error = |message: &str| DebianError::Parse {
            what: what.to_string(),
            line: line_no,
            message: message.to_string(),
        };
        if line.trim().is_empty() {
            paragraphs.extend(current.take());
            continue;
        }
        if line.starts_with('#') {
            continue;
        }
        if line.starts_with(' ') || line.starts_with('\t') {
            let Some((_, value)) = current.as_mut().and_then(|p| p.fields.last_mut()) else {
                return Err(error("a continuation line outside a field"));
            };
            let owned = value.to_mut();
            owned.push('\n');
            owned.push_str(line.trim());
            continue;
        }
        let Some((name, value)) = line.split_once(':') else {
            return Err(error("expected `Field: value`"));
        };
        if name.is_empty() || name.contains(char::is_whitespace) {
            return Err(error("the field name is empty or contains spaces"));
        }
        current
            .get_or_insert_with(|| Paragraph {
                line: line_no,
                fields: Vec::new(),
            })
            .fields
            .push((name, Cow::Borrowed(value.trim())));
    }
    paragraphs.extend(current);
    Ok(paragraphs)
}
