//! How `kiln` prints a diagnostic: miette's rich report on a terminal, and a plain form that
//! scripts can grep everywhere else.
//!
//! The plain form is the one `nix-instantiate` users' test suites expect (nixpkgs'
//! `lib/tests/modules.sh` greps stderr for `.*` across long paths and for `\n\s*- In`):
//!
//! ```text
//! error: attribute 'x' missing
//!        at /p/default.nix:3:7
//!        code: kiln::eval::missing_attr
//!        help: did you mean `y`?
//!        … while calling `getAttr`
//!          at /p/default.nix:3:1
//! ```
//!
//! The first line is `error: ` and the message exactly as `throw`, `abort` or the module system
//! gave it; its further lines are indented by seven spaces, as nix 2.8 indents them. Nothing is
//! wrapped, and no gutter is drawn. Spans become `at FILE:LINE:COL` (1-based, the column in
//! characters, as nix counts it), then the code, the help, the related notes (trace frames,
//! module definitions) and any cause.
//!
//! Design decision: a `miette::ReportHandler` rather than a second rendering path per error
//! type, so every command (`parse`, `eval`, `build`, `options`) and every diagnostic, including
//! the driver's, gets the same plain form without knowing about it.

use miette::{Diagnostic, LabeledSpan, ReportHandler, SourceCode};
use std::fmt::{self, Write as _};

/// Whether diagnostics are printed in the plain form.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum LogFormat {
    /// Plain when stderr is not a terminal or `NO_COLOR` is set; rich otherwise.
    Auto,
    /// Always plain: `error: MESSAGE`, then code, spans and help, unwrapped (nix's `raw`).
    Raw,
    /// Always miette's rich report.
    Rich,
}

/// Installs the report handler for the process, deciding plain or rich once.
pub(crate) fn install(format: LogFormat) {
    use std::io::IsTerminal;
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let plain = match format {
        LogFormat::Raw => true,
        LogFormat::Rich => false,
        LogFormat::Auto => no_color || !std::io::stderr().is_terminal(),
    };
    if plain {
        // Only fails if a hook is already set, which only this function does.
        let _ = miette::set_hook(Box::new(|_| Box::new(PlainHandler)));
    }
}

/// Renders diagnostics in the plain form described in the module docs.
pub(crate) struct PlainHandler;

/// nix's continuation indent: the width of `error: `.
const INDENT: &str = "       ";

impl ReportHandler for PlainHandler {
    fn debug(&self, diagnostic: &dyn Diagnostic, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if f.alternate() {
            return fmt::Debug::fmt(diagnostic, f);
        }
        let mut out = String::new();
        render(&mut out, diagnostic)?;
        f.write_str(out.trim_end())
    }
}

/// Writes `diagnostic` in the plain form.
pub(crate) fn render(out: &mut String, diagnostic: &dyn Diagnostic) -> fmt::Result {
    let severity = match diagnostic.severity() {
        Some(miette::Severity::Warning) => "warning",
        Some(miette::Severity::Advice) => "note",
        _ => "error",
    };
    write!(out, "{severity}: ")?;
    write_indented(out, &diagnostic.to_string(), INDENT)?;
    write_labels(out, diagnostic, INDENT)?;
    if let Some(code) = diagnostic.code() {
        writeln!(out, "{INDENT}code: {code}")?;
    }
    if let Some(help) = diagnostic.help() {
        write!(out, "{INDENT}help: ")?;
        write_indented(out, &help.to_string(), INDENT)?;
    }
    if let Some(related) = diagnostic.related() {
        for note in related {
            let text = note.to_string();
            // "… 7 more frames" already says it is a note.
            let bullet = if text.starts_with('…') { "" } else { "… " };
            write!(out, "{INDENT}{bullet}")?;
            write_indented(out, &text, INDENT)?;
            write_labels(out, note, &format!("{INDENT}  "))?;
            if let Some(help) = note.help() {
                write!(out, "{INDENT}  help: ")?;
                write_indented(out, &help.to_string(), INDENT)?;
            }
        }
    }
    // A diagnostic cause keeps its code and help (a builder's error inside the store's "building
    // X failed"); a plain error chain shows its messages.
    if let Some(mut inner) = diagnostic.diagnostic_source() {
        loop {
            write!(out, "{INDENT}caused by: ")?;
            write_indented(out, &inner.to_string(), INDENT)?;
            write_labels(out, inner, INDENT)?;
            if let Some(code) = inner.code() {
                writeln!(out, "{INDENT}code: {code}")?;
            }
            if let Some(help) = inner.help() {
                write!(out, "{INDENT}help: ")?;
                write_indented(out, &help.to_string(), INDENT)?;
            }
            match inner.diagnostic_source() {
                Some(next) => inner = next,
                None => break,
            }
        }
        return Ok(());
    }
    let mut cause = diagnostic.source();
    while let Some(err) = cause {
        write!(out, "{INDENT}caused by: ")?;
        write_indented(out, &err.to_string(), INDENT)?;
        cause = err.source();
    }
    Ok(())
}

/// Writes `text` and a newline, its later lines indented by `indent`.
fn write_indented(out: &mut String, text: &str, indent: &str) -> fmt::Result {
    for (i, line) in text.lines().enumerate() {
        if i > 0 {
            out.push_str(indent);
        }
        writeln!(out, "{line}")?;
    }
    if text.lines().next().is_none() {
        out.push('\n');
    }
    Ok(())
}

/// One `at FILE:LINE:COL[: label]` line per label, primary label first.
fn write_labels(out: &mut String, diagnostic: &dyn Diagnostic, indent: &str) -> fmt::Result {
    let Some(labels) = diagnostic.labels() else {
        return Ok(());
    };
    let mut labels: Vec<LabeledSpan> = labels.collect();
    labels.sort_by_key(|l| !l.primary());
    for label in labels {
        write!(out, "{indent}at ")?;
        match diagnostic
            .source_code()
            .and_then(|source| position(source, &label))
        {
            Some(position) => out.push_str(&position),
            None => write!(out, "byte {}", label.offset())?,
        }
        // "here" is what every eval error says; it adds nothing to a position.
        match label.label() {
            Some(text) if !text.is_empty() && text != "here" => writeln!(out, ": {text}")?,
            _ => out.push('\n'),
        }
    }
    Ok(())
}

/// `FILE:LINE:COL` of a label, with the column in characters as nix counts it.
fn position(source: &dyn SourceCode, label: &LabeledSpan) -> Option<String> {
    // One line of context before gives the whole line up to the span (miette counts columns
    // in bytes; nix counts characters).
    let contents = source.read_span(label.inner(), 1, 0).ok()?;
    let data = contents.data();
    let span_in_data = label.offset().checked_sub(contents.span().offset())?;
    let before = data.get(..span_in_data)?;
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    let newlines = before[..line_start].iter().filter(|&&b| b == b'\n').count();
    let line = contents.line() + newlines + 1;
    let start_column = if line_start == 0 {
        contents.column()
    } else {
        0
    };
    let column = start_column
        + String::from_utf8_lossy(&before[line_start..])
            .chars()
            .count()
        + 1;
    Some(match contents.name() {
        Some(name) => format!("{name}:{line}:{column}"),
        None => format!("{line}:{column}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("first line\nsecond line")]
    struct Example {
        snippet: kiln_syntax::SnippetSource,
    }

    impl Diagnostic for Example {
        fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
            Some(Box::new("kiln::test::example"))
        }
        fn source_code(&self) -> Option<&dyn SourceCode> {
            Some(&self.snippet)
        }
        fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
            Some(Box::new(std::iter::once(LabeledSpan::new_with_span(
                Some("here".into()),
                (11, 1),
            ))))
        }
    }

    #[test]
    fn plain_form_is_unwrapped_and_indented_like_nix() {
        let snippet = kiln_syntax::SnippetSource::new("/f.nix", "é\nab\n  λ x\n".into());
        let mut out = String::new();
        render(&mut out, &Example { snippet }).unwrap();
        assert_eq!(
            out,
            "error: first line\n       second line\n       at /f.nix:3:5\n       code: kiln::test::example\n"
        );
    }
}
