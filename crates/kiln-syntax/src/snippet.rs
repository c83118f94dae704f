//! The source text a diagnostic shows, with very long lines clipped around the span.
//!
//! miette's graphical renderer pads with `format!("{:width$}")`, and Rust's formatter panics for a
//! width beyond `u16::MAX`: a span past column 65 535 (`' ' * 70000 + ')'`) crashed `kiln parse`.
//! Minified or generated Nix files have such lines for real. So every report's source is a
//! [`SnippetSource`]: it hands miette the text as it is, except that a line longer than
//! [`LONG_LINE`] is cut to a window around the span. Line and column numbers stay those of the
//! whole file, because miette reads them from the returned contents.
//!
//! Design decision: clipping when the snippet is read, rather than shortening the span when the
//! error is built, keeps spans exact for every other consumer (`unsafeGetAttrPos`, the plain
//! renderer's `FILE:LINE:COL`, an LSP) and costs nothing for ordinary lines.

use miette::{MietteError, MietteSpanContents, SourceCode, SourceSpan, SpanContents};
use std::sync::Arc;

/// Lines up to this many bytes are shown whole.
const LONG_LINE: usize = 1000;
/// How much of a long line is kept on either side of the span.
const WINDOW: usize = 80;
/// The longest stretch of one line ever shown, whatever the span's length; far below the
/// 65 535 columns at which miette's padding would panic.
const MAX_SHOWN: usize = 4000;

/// A named source text for miette reports; see the module docs.
#[derive(Clone, Debug)]
pub struct SnippetSource {
    name: String,
    text: Arc<str>,
}

impl SnippetSource {
    pub fn new(name: impl Into<String>, text: Arc<str>) -> SnippetSource {
        SnippetSource {
            name: name.into(),
            text,
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }
}

impl SourceCode for SnippetSource {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        context_lines_before: usize,
        context_lines_after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, MietteError> {
        let whole = self
            .text
            .read_span(span, context_lines_before, context_lines_after)?;
        let data = whole.data();
        let has_long_line = data.split(|&b| b == b'\n').any(|l| l.len() > LONG_LINE);
        if !has_long_line {
            return Ok(Box::new(MietteSpanContents::new_named(
                self.name.clone(),
                data,
                *whole.span(),
                whole.line(),
                whole.column(),
                whole.line_count(),
            )));
        }
        // Show only the span's own lines, cut to a window around it: context lines could be
        // just as long, and they say little next to a line that long.
        let text = &*self.text;
        let start = span.offset().min(text.len());
        let end = (span.offset() + span.len()).clamp(start, text.len());
        let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
        let line_end = text[end..].find('\n').map_or(text.len(), |i| end + i);
        // Without context miette starts the data at the span itself (the header's
        // `FILE:LINE:COL` comes from there), and so does this.
        let from = if context_lines_before == 0 {
            start
        } else {
            floor_boundary(text, start.saturating_sub(WINDOW).max(line_start))
        };
        let to = floor_boundary(text, (end + WINDOW).min(line_end).min(from + MAX_SHOWN));
        let to = to.max(from);
        let line = text[..from].matches('\n').count();
        // Columns count bytes, as miette's own `SourceCode` for `str` does.
        let column = from - line_start;
        let line_count = text[from..to].matches('\n').count() + 1;
        Ok(Box::new(MietteSpanContents::new_named(
            self.name.clone(),
            &text.as_bytes()[from..to],
            (from, to - from).into(),
            line,
            column,
            line_count,
        )))
    }
}

fn floor_boundary(text: &str, mut offset: usize) -> usize {
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_lines_are_shown_whole_with_context() {
        let source = SnippetSource::new("f", Arc::from("a\nbcd\ne\n"));
        let contents = source.read_span(&(3, 1).into(), 1, 1).unwrap();
        assert_eq!(contents.data(), b"a\nbcd\ne\n");
        assert_eq!(contents.name(), Some("f"));
    }

    #[test]
    fn a_long_line_is_cut_around_the_span_keeping_its_position() {
        let text = format!("x\n{})\n", " ".repeat(70_000));
        let source = SnippetSource::new("f", Arc::from(text.as_str()));
        let at = 2 + 70_000;
        let contents = source.read_span(&(at, 1).into(), 2, 2).unwrap();
        assert_eq!(contents.data().len(), WINDOW + 1);
        assert_eq!(contents.line(), 1);
        assert_eq!(contents.column(), 70_000 - WINDOW);
        let primary = source.read_span(&(at, 1).into(), 0, 0).unwrap();
        assert_eq!((primary.line(), primary.column()), (1, 70_000));
        assert_eq!(primary.data(), b")");
    }

    #[test]
    fn a_long_span_is_shown_in_part() {
        let text = "y".repeat(100_000);
        let source = SnippetSource::new("f", Arc::from(text.as_str()));
        let contents = source.read_span(&(10, 99_000).into(), 1, 1).unwrap();
        assert_eq!(contents.data().len(), MAX_SHOWN);
    }
}
