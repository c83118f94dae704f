//! Fuzz target body `parse`: any bytes must give an AST or a diagnostic, never a panic, and every
//! span in a diagnostic must lie on char boundaries of the source (miette slices there).
//! The fast parser and pest must agree: the fast one accepts only what pest accepts, with the
//! same AST (compared through `Debug`), and rejects only what pest rejects.

use std::path::Path;

pub(crate) fn run(data: &[u8]) {
    let text = match kiln_syntax::decode_source("fuzz", data.to_vec()) {
        Ok(text) => text,
        Err(err) => {
            let span = err.span();
            let shown = String::from_utf8_lossy(data);
            assert!(shown.is_char_boundary(span.start as usize));
            assert!(shown.is_char_boundary(span.end as usize));
            return;
        }
    };
    let mut sources = kiln_syntax::SourceMap::new();
    let file = sources.add_virtual("fuzz", Path::new("/fuzz"), text.as_str());
    let options = kiln_syntax::ParseOptions {
        home: Some("/home/fuzz".into()),
    };
    if !text.contains('\0') {
        let fast = kiln_syntax::__private::parse_fast(&sources, file, &options);
        let pest = kiln_syntax::__private::parse_pest(&sources, file, &options);
        match (&fast, &pest) {
            (Some(fast), Ok(pest)) => assert_eq!(
                format!("{fast:?}"),
                format!("{pest:?}"),
                "the parsers build different ASTs"
            ),
            (None, Err(_)) => {}
            (Some(_), Err(err)) => panic!("fast parser accepts what pest rejects: {err}"),
            (None, Ok(_)) => panic!("fast parser rejects what pest accepts"),
        }
    }
    let result = kiln_syntax::parse_with(&sources, file, &options)
        .and_then(|expr| kiln_syntax::check_scopes(&sources, &expr).map(|()| expr));
    match result {
        Ok(expr) => {
            // Printing must not panic either, nor parsing the printed form (which need not
            // succeed: Nix prints `f (assert a; b)` as `(f assert a; b)`).
            let printed = kiln_syntax::print_expr(&expr);
            let again = sources.add_virtual("printed", Path::new("/fuzz"), printed.as_str());
            let _ = kiln_syntax::parse_with(&sources, again, &options);
        }
        Err(err) => {
            let span = err.span();
            assert!(span.start <= span.end);
            assert!(
                text.is_char_boundary(span.start as usize),
                "span start off a char boundary"
            );
            assert!(
                text.is_char_boundary(span.end as usize),
                "span end off a char boundary"
            );
            // Rendering must not panic.
            let mut out = String::new();
            let handler = miette::GraphicalReportHandler::new_themed(
                miette::GraphicalTheme::unicode_nocolor(),
            );
            let _ = handler.render_report(&mut out, &err);
        }
    }
}
