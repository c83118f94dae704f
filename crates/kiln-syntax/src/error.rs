//! Parse diagnostics. Every way `kiln parse` can reject a text is one [`SyntaxErrorKind`], whose
//! code (`kiln::syntax::<kind>`) is stable API; the message wording may change.
//!
//! The error keeps its data (kind, spans, message) apart from rendering, which miette does.
//! It is boxed so that `Result<Expr, SyntaxError>` stays small.

use crate::span::{SourceMap, Span};
use crate::SnippetSource;
use miette::{Diagnostic, LabeledSpan, SourceCode};
use std::fmt;
use std::sync::Arc;

/// What went wrong; `code()` gives the diagnostic code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SyntaxErrorKind {
    /// A token the grammar does not allow here (a stray `}`, a missing `;`).
    Unexpected,
    /// The input ends where the grammar needs more (`{ a = 1;`).
    UnexpectedEnd,
    UnterminatedString,
    UnterminatedIndString,
    UnterminatedComment,
    /// `${` without its `}`.
    UnterminatedInterpolation,
    /// Brackets or other constructs nested deeper than kiln (and Nix) supports.
    NestingTooDeep,
    NulByte,
    InvalidUtf8,
    /// Sources over 4 GiB: spans are `u32`.
    TooLarge,
    InvalidInteger,
    InvalidFloat,
    PathTrailingSlash,
    DuplicateAttr,
    DuplicateFormal,
    DynamicAttrInInherit,
    DynamicAttrInLet,
    UndefinedVariable,
}

impl SyntaxErrorKind {
    pub fn code(self) -> &'static str {
        match self {
            SyntaxErrorKind::Unexpected => "kiln::syntax::unexpected",
            SyntaxErrorKind::UnexpectedEnd => "kiln::syntax::unexpected_end",
            SyntaxErrorKind::UnterminatedString => "kiln::syntax::unterminated_string",
            SyntaxErrorKind::UnterminatedIndString => "kiln::syntax::unterminated_ind_string",
            SyntaxErrorKind::UnterminatedComment => "kiln::syntax::unterminated_comment",
            SyntaxErrorKind::UnterminatedInterpolation => {
                "kiln::syntax::unterminated_interpolation"
            }
            SyntaxErrorKind::NestingTooDeep => "kiln::syntax::nesting_too_deep",
            SyntaxErrorKind::NulByte => "kiln::syntax::nul_byte",
            SyntaxErrorKind::InvalidUtf8 => "kiln::syntax::invalid_utf8",
            SyntaxErrorKind::TooLarge => "kiln::syntax::too_large",
            SyntaxErrorKind::InvalidInteger => "kiln::syntax::invalid_integer",
            SyntaxErrorKind::InvalidFloat => "kiln::syntax::invalid_float",
            SyntaxErrorKind::PathTrailingSlash => "kiln::syntax::path_trailing_slash",
            SyntaxErrorKind::DuplicateAttr => "kiln::syntax::duplicate_attr",
            SyntaxErrorKind::DuplicateFormal => "kiln::syntax::duplicate_formal",
            SyntaxErrorKind::DynamicAttrInInherit => "kiln::syntax::dynamic_attr_in_inherit",
            SyntaxErrorKind::DynamicAttrInLet => "kiln::syntax::dynamic_attr_in_let",
            SyntaxErrorKind::UndefinedVariable => "kiln::syntax::undefined_variable",
        }
    }
}

/// A parse (or scope) error with the source it points into, so that a report stands alone.
#[derive(thiserror::Error)]
#[error("{}", .0.message)]
pub struct SyntaxError(Box<Inner>);

struct Inner {
    kind: SyntaxErrorKind,
    message: String,
    /// The primary location; always on char boundaries of the source.
    span: Span,
    label: String,
    /// Secondary labels ("first defined here").
    related: Vec<(Span, String)>,
    help: Option<String>,
    source: SnippetSource,
}

impl SyntaxError {
    /// Builds an error pointing at `span` of the file it lies in.
    pub(crate) fn new(
        sources: &SourceMap,
        kind: SyntaxErrorKind,
        span: Span,
        message: impl Into<String>,
        label: impl Into<String>,
    ) -> SyntaxError {
        let source = sources.named_source(span.file);
        let text = &sources.get(span.file).text;
        SyntaxError(Box::new(Inner {
            kind,
            message: message.into(),
            span: clamp_span(text, span),
            label: label.into(),
            related: Vec::new(),
            help: None,
            source,
        }))
    }

    /// An error about a text that could not become a source at all (invalid UTF-8): `shown` is
    /// what the report displays, `span` points into it.
    pub(crate) fn detached(
        name: &str,
        shown: Arc<str>,
        kind: SyntaxErrorKind,
        span: Span,
        message: String,
        label: &str,
    ) -> SyntaxError {
        let span = clamp_span(&shown, span);
        SyntaxError(Box::new(Inner {
            kind,
            message,
            span,
            label: label.to_string(),
            related: Vec::new(),
            help: None,
            source: SnippetSource::new(name, shown),
        }))
    }

    pub(crate) fn with_related(mut self, span: Span, label: impl Into<String>) -> SyntaxError {
        self.0.related.push((span, label.into()));
        self
    }

    pub(crate) fn with_help(mut self, help: impl Into<String>) -> SyntaxError {
        self.0.help = Some(help.into());
        self
    }

    pub fn kind(&self) -> SyntaxErrorKind {
        self.0.kind
    }

    /// The primary location of the error.
    pub fn span(&self) -> Span {
        self.0.span
    }

    pub fn message(&self) -> &str {
        &self.0.message
    }
}

impl fmt::Debug for SyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SyntaxError")
            .field("kind", &self.0.kind)
            .field("message", &self.0.message)
            .field("span", &self.0.span)
            .finish()
    }
}

impl Diagnostic for SyntaxError {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(self.0.kind.code()))
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.0
            .help
            .as_ref()
            .map(|help| Box::new(help) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        Some(&self.0.source)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let primary = LabeledSpan::new_primary_with_span(Some(self.0.label.clone()), self.0.span);
        let related = self
            .0
            .related
            .iter()
            .map(|(span, label)| LabeledSpan::new_with_span(Some(label.clone()), *span));
        Some(Box::new(std::iter::once(primary).chain(related)))
    }
}

/// Keeps a span inside the text and on char boundaries, so miette never slices mid-character.
fn clamp_span(text: &str, span: Span) -> Span {
    let floor = |mut offset: usize| {
        offset = offset.min(text.len());
        while !text.is_char_boundary(offset) {
            offset -= 1;
        }
        offset as u32
    };
    let start = floor(span.start as usize);
    let mut end = floor(span.end as usize).max(start);
    // Widen an in-character end to the next boundary so the label covers the character.
    if (span.end as usize) > end as usize && (end as usize) < text.len() {
        let mut next = end as usize + 1;
        while !text.is_char_boundary(next) {
            next += 1;
        }
        end = next as u32;
    }
    Span::new(span.file, start, end)
}
