//! kiln-syntax: Nix expression text to a spanned, typed AST.
//!
//! A tour: text goes into a [`SourceMap`]; [`parse`] turns it into [`ast::Expr`] with Nix 2.8's
//! desugarings. Two parsers do that. The reference is the pest grammar (`grammar/kiln.pest`),
//! lowered by `lower.rs`. In front of it runs `fast.rs`, a hand-written recursive-descent parser
//! that mirrors the grammar and is several times faster; when it accepts a text, pest would
//! accept it with an identical AST (spans included), and when it rejects one, [`parse`] parses
//! again with pest, which produces the diagnostic. Then [`check_scopes`] rejects undefined
//! variables as `nix-instantiate --parse` does; and [`print_expr`] prints the AST in exactly `nix-instantiate --parse`'s format. Every failure
//! is a [`SyntaxError`], a miette diagnostic with a stable code.
//!
//! ```
//! use kiln_syntax::{parse, SourceMap};
//! let mut sources = SourceMap::new();
//! let file = sources.add_virtual("«string»", std::path::Path::new("/"), "1 + 2");
//! let expr = parse(&sources, file).unwrap();
//! assert_eq!(kiln_syntax::print_expr(&expr), "(1 + 2)");
//! ```

pub mod ast;
mod base_env;
mod bison;
mod desugar;
mod error;
mod fast;
mod grammar;
mod lower;
mod prescan;
mod print;
mod scope;
mod snippet;
mod span;

pub use base_env::BASE_ENV_NAMES;
pub use desugar::canon_path;
pub use error::{SyntaxError, SyntaxErrorKind};
pub use print::{format_float, print_expr};
pub use scope::check_scopes;
pub use snippet::SnippetSource;
pub use span::{FileId, SourceFile, SourceMap, Span};

use pest::Parser;
use std::sync::Arc;

/// Settings that come from the environment rather than the text.
#[derive(Clone, Debug, Default)]
pub struct ParseOptions {
    /// What `~` in `~/x` expands to; `None` reads `$HOME` (as Nix does).
    pub home: Option<String>,
}

/// The stack the pest parser runs on. pest recurses once per nesting level; the big stack lets
/// kiln accept what Nix accepts (about 10 000 levels), and pest's stack guard turns anything
/// deeper into a "nesting too deep" diagnostic instead of a crash. The memory is only reserved.
/// The fast parser needs no such thread: it grows its stack with `stacker`.
const PARSER_STACK: usize = 1 << 30;

/// Parses `file` of `sources` into an expression, with `$HOME` from the environment.
pub fn parse(sources: &SourceMap, file: FileId) -> Result<ast::Expr, SyntaxError> {
    parse_with(sources, file, &ParseOptions::default())
}

/// [`parse`] with explicit [`ParseOptions`].
pub fn parse_with(
    sources: &SourceMap,
    file: FileId,
    options: &ParseOptions,
) -> Result<ast::Expr, SyntaxError> {
    let source = sources.get(file);
    let text: &str = &source.text;
    if u32::try_from(text.len()).is_err() {
        return Err(SyntaxError::new(
            sources,
            SyntaxErrorKind::TooLarge,
            Span::new(file, 0, 0),
            format!(
                "source is too large ({} bytes; the limit is 4 GiB)",
                text.len()
            ),
            "here",
        ));
    }
    if let Some(nul) = text.find('\0') {
        let at = nul as u32;
        return Err(SyntaxError::new(
            sources,
            SyntaxErrorKind::NulByte,
            Span::new(file, at, at + 1),
            format!("NUL byte in source at byte offset {nul}"),
            "NUL byte",
        ));
    }
    let home = options
        .home
        .clone()
        .unwrap_or_else(|| std::env::var("HOME").unwrap_or_else(|_| "/".into()));
    let base_dir = source.base_dir.to_string_lossy().into_owned();
    if let Ok(expr) = fast::parse(text, file, &base_dir, &home) {
        return Ok(expr);
    }
    let res = parse_pest(sources, file, base_dir, home);
    // The fast parser rejects only what pest rejects; anything else is a bug in `fast.rs`
    // (the result is still right: pest's AST). Debug builds, and so the tests, catch it.
    debug_assert!(
        res.is_err(),
        "kiln-syntax: the fast parser rejected {:?}, which pest accepts",
        source.name
    );
    res
}

/// The reference parser: the pest grammar lowered by `lower.rs`, on a thread with a big stack.
fn parse_pest(
    sources: &SourceMap,
    file: FileId,
    base_dir: String,
    home: String,
) -> Result<ast::Expr, SyntaxError> {
    let text: &str = &sources.get(file).text;
    let run = move || {
        let pairs = grammar::NixParser::parse(grammar::Rule::file, text)
            .map_err(|err| grammar::syntax_error(sources, file, err))?;
        lower::Lowerer::new(sources, file, base_dir, home).lower_file(pairs)
    };
    std::thread::scope(|scope| {
        match std::thread::Builder::new()
            .stack_size(PARSER_STACK)
            .spawn_scoped(scope, run.clone())
        {
            Ok(handle) => handle
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
            // No thread to be had: parse on this one; pest's stack guard still applies.
            Err(_) => run(),
        }
    })
}

/// Each parser on its own, for the tests and the fuzz target that hold them to the invariant
/// (see `fast.rs`): not API.
#[doc(hidden)]
pub mod __private {
    use super::*;

    fn settings(sources: &SourceMap, file: FileId, options: &ParseOptions) -> (String, String) {
        let home = options.home.clone().unwrap_or_else(|| "/".into());
        let base_dir = sources.get(file).base_dir.to_string_lossy().into_owned();
        (base_dir, home)
    }

    /// The fast parser alone; `None` where it hands over to pest. Expects a text without NUL.
    pub fn parse_fast(
        sources: &SourceMap,
        file: FileId,
        options: &ParseOptions,
    ) -> Option<ast::Expr> {
        let (base_dir, home) = settings(sources, file, options);
        fast::parse(&sources.get(file).text, file, &base_dir, &home).ok()
    }

    /// The pest parser alone. Expects a text without NUL.
    pub fn parse_pest(
        sources: &SourceMap,
        file: FileId,
        options: &ParseOptions,
    ) -> Result<ast::Expr, SyntaxError> {
        let (base_dir, home) = settings(sources, file, options);
        super::parse_pest(sources, file, base_dir, home)
    }
}

/// Decodes file bytes as UTF-8, or reports the first invalid byte as a diagnostic.
pub fn decode_source(name: &str, bytes: Vec<u8>) -> Result<String, SyntaxError> {
    String::from_utf8(bytes).map_err(|err| {
        let offset = err.utf8_error().valid_up_to();
        let shown: Arc<str> = Arc::from(String::from_utf8_lossy(err.as_bytes()));
        let span = Span::new(FileId(u32::MAX), offset as u32, offset as u32 + 1);
        SyntaxError::detached(
            name,
            shown,
            SyntaxErrorKind::InvalidUtf8,
            span,
            format!("invalid UTF-8 at byte offset {offset}"),
            "not UTF-8",
        )
    })
}
