//! `:doc NAME`: the documentation of an option of the loaded profile (from its declaration),
//! a builtin (from kiln-eval's table) or a function written in Nix (from the comment above
//! its definition, as nixpkgs' `lib` writes them).

use super::profile;
use super::{ReplError, Session};
use kiln_eval::{Closure, Value};
use std::fmt::Write;

/// The text `:doc name` prints.
pub(super) fn doc(session: &mut Session, name: &str) -> Result<String, miette::Report> {
    if let Ok(options) = session.profile_options() {
        let option = profile::find_option(&mut session.ev, &options, name);
        if let Some(option) = session.check(option)? {
            let text = profile::option_doc(&mut session.ev, name, &option, session.options.color);
            return session.check(text);
        }
    }
    match session.eval_quietly(name) {
        Some(Value::PrimOp(op)) => builtin_doc(op.name),
        Some(Value::PrimOpApp(app)) => builtin_doc(app.op.name).map(|doc| {
            let (given, arity) = (app.args.len(), app.op.arity);
            let what = format!(
                "`{name}` is `builtins.{}` with {given} of its {arity} arguments given.",
                app.op.name
            );
            format!("{what}\n\n{doc}")
        }),
        Some(Value::Lambda(closure)) => Some(lambda_doc(session, name, &closure)),
        _ => {
            let bare = name
                .strip_prefix("builtins.")
                .or_else(|| name.strip_prefix("__"))
                .unwrap_or(name);
            builtin_doc(bare)
        }
    }
    .ok_or_else(|| {
        ReplError::NoDoc {
            name: name.to_string(),
        }
        .into()
    })
}

/// Nix 2.8's layout: `Synopsis: builtins.NAME ARGS`, then the text indented.
fn builtin_doc(name: &str) -> Option<String> {
    let doc = kiln_eval::builtins::docs::doc(name)?;
    let synopsis = if doc.args.is_empty() {
        format!("builtins.{name}")
    } else {
        format!("builtins.{name} {}", doc.args)
    };
    Some(format!("Synopsis: {synopsis}\n\n    {}\n", doc.doc))
}

/// Where the function is defined, its definition line, and the comment above it.
fn lambda_doc(session: &Session, name: &str, closure: &Closure) -> String {
    let span = closure.span();
    let sources = session.ev.sources();
    let source = sources.get(span.file);
    let (line, _) = sources.line_col(span.file, span.start);
    let lines: Vec<&str> = source.text.lines().collect();
    let index = (line as usize).saturating_sub(1);
    let mut out = String::new();
    let _ = writeln!(out, "{name}: a function defined at {}:{line}", source.name);
    if let Some(definition) = lines.get(index) {
        let _ = writeln!(out, "    {}", definition.trim());
    }
    let comment = comment_above(&lines[..index.min(lines.len())]);
    if comment.is_empty() {
        out.push_str("\n    (no comment above the definition)\n");
    } else {
        out.push('\n');
        for text in comment {
            let _ = writeln!(out, "    {text}");
        }
    }
    out
}

/// The `#` lines, or the `/* … */` block, right above a definition, without the markers.
fn comment_above<'a>(lines: &[&'a str]) -> Vec<&'a str> {
    let mut end = lines.len();
    let last = match lines.last() {
        Some(last) => last.trim(),
        None => return Vec::new(),
    };
    if last.ends_with("*/") {
        let Some(start) = lines.iter().rposition(|l| l.contains("/*")) else {
            return Vec::new();
        };
        return lines[start..end]
            .iter()
            .map(|l| {
                l.trim()
                    .trim_start_matches("/**")
                    .trim_start_matches("/*")
                    .trim_end_matches("*/")
                    .trim()
            })
            .map(|l| l.strip_prefix("* ").unwrap_or(l))
            .filter(|l| !l.is_empty())
            .collect();
    }
    while end > 0 && lines[end - 1].trim_start().starts_with('#') {
        end -= 1;
    }
    lines[end..]
        .iter()
        .map(|l| l.trim_start().trim_start_matches('#').trim())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::comment_above;

    #[test]
    fn hash_comments() {
        let lines = [
            "  id = x: x;",
            "",
            "  # Apply a list of functions",
            "  # left to right.",
        ];
        assert_eq!(
            comment_above(&lines),
            ["Apply a list of functions", "left to right."]
        );
    }

    #[test]
    fn block_comments() {
        let lines = ["  /* Apply a list", "     of functions. */"];
        assert_eq!(comment_above(&lines), ["Apply a list", "of functions."]);
    }

    #[test]
    fn no_comment() {
        assert!(comment_above(&["  id = x: x;", ""]).is_empty());
        assert!(comment_above(&[]).is_empty());
    }
}
