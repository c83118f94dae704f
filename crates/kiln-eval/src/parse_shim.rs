//! The one place kiln-eval calls the parser, turning a syntax error into an [`EvalError`].

use crate::error::{ErrorKind, EvalError, EvalResult};
use kiln_syntax::{ast, FileId, SourceMap};

pub(crate) fn parse(sources: &SourceMap, file: FileId) -> EvalResult<ast::Expr> {
    kiln_syntax::parse(sources, file).map_err(|e| {
        EvalError::new(ErrorKind::Syntax {
            code: e.kind().code(),
            message: e.message().to_string(),
        })
        .at(e.span())
    })
}
