//! kiln-syntax: Nix expression text to a spanned, typed AST.
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
mod span;

pub use base_env::BASE_ENV_NAMES;

pub use span::{FileId, SourceFile, SourceMap, Span};
