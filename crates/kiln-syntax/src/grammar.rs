//! The pest binding for `grammar/kiln.pest`, and the translation of pest's failures into
//! readable [`SyntaxError`]s: users see "expected `;` after the attribute value", never a rule
//! name.
//!
//! pest reports the rules it tried at the furthest position. We re-run a failed parse with
//! pest's error detail switched on (slower, so only on failure) to also learn the literal
//! tokens it expected there (`;`, `}`, ...), and we name each rule in words.

use crate::error::{SyntaxError, SyntaxErrorKind};
use crate::prescan::{self, Unterminated};
use crate::span::{FileId, SourceMap, Span};
use pest::error::{ErrorVariant, InputLocation};
use pest::Parser;
use std::collections::BTreeSet;

#[derive(pest_derive::Parser)]
#[grammar = "../../grammar/kiln.pest"]
pub(crate) struct NixParser;

/// Turns a pest failure on `sources[file]` into a diagnostic.
pub(crate) fn syntax_error(
    sources: &SourceMap,
    file: FileId,
    err: pest::error::Error<Rule>,
) -> SyntaxError {
    let text: &str = &sources.get(file).text;
    let pos = match err.location {
        InputLocation::Pos(pos) => pos,
        InputLocation::Span((start, _)) => start,
    };
    if let ErrorVariant::CustomError { message } = &err.variant {
        if message.contains("limit reached") {
            return SyntaxError::new(
                sources,
                SyntaxErrorKind::NestingTooDeep,
                Span::new(file, pos as u32, pos as u32),
                "nesting too deep",
                "the parser ran out of stack here",
            )
            .with_help("Nix itself gives up at about 10 000 nested parentheses");
        }
    }
    if let Some(unterminated) = prescan::find_unterminated(text) {
        if pos >= unterminated.start() {
            return unterminated_error(sources, file, unterminated);
        }
    }
    let mut expected: BTreeSet<&'static str> = BTreeSet::new();
    let mut in_bind = false;
    if let ErrorVariant::ParsingError { positives, .. } = &err.variant {
        for rule in positives {
            if let Some(name) = rule_name(*rule) {
                expected.insert(name);
            }
        }
    }
    // The detailed re-run adds the literal tokens pest tried (`;`, `=`, `}`).
    pest::set_error_detail(true);
    let detailed = NixParser::parse(Rule::file, text).err();
    pest::set_error_detail(false);
    if let Some(attempts) = detailed.as_ref().and_then(|e| e.parse_attempts()) {
        if attempts.max_position == pos {
            for token in attempts.expected_tokens() {
                // Character ranges (`a..z`, `0..9`) come from the guards of expressions.
                let token = token.to_string();
                let is_range = token.chars().count() == 4 && token.contains("..");
                let name = if is_range {
                    Some("an expression")
                } else {
                    token_name(&token)
                };
                if let Some(name) = name {
                    expected.insert(name);
                }
            }
            in_bind = attempts.call_stacks().iter().any(|stack| {
                stack.parent == Some(Rule::bind)
                    || stack.parent == Some(Rule::binds)
                    || stack.deepest.get_rule() == Some(&Rule::bind)
            });
        }
    }
    // `x:` and `x @` are tried wherever an expression may start; name them only where an
    // expression cannot (after `{ a, b }`).
    if expected.contains("an expression") {
        expected.remove("`:`");
        expected.remove("`@`");
    }
    let found = describe_found(text, pos);
    // At the end of the input, point at the last character: an empty span at the very end
    // would show no label.
    let (start, end) = if pos >= text.len() {
        let last = text.char_indices().next_back().map_or(0, |(idx, _)| idx);
        (last, text.len())
    } else {
        (pos, pos + found_len(text, pos))
    };
    let span = Span::new(file, start as u32, end as u32);
    let in_bind = in_bind || after_binding_equals(text, pos);
    // The first line is nix's (`syntax error, unexpected IN`); kiln's reading of the failure
    // goes in the label and the help.
    let message = format!("syntax error, unexpected {}", nix_token(text, pos));
    let (label, help) = if expected.contains("`;`") && in_bind {
        (
            "expected `;` here".to_string(),
            Some(format!(
                "expected `;` after the attribute value, found {found}"
            )),
        )
    } else if expected.is_empty() {
        ("unexpected here".to_string(), None)
    } else {
        let list: Vec<&str> = expected.into_iter().collect();
        (format!("expected {}", join_or(&list)), None)
    };
    // Input that stops too early is its own kind: a REPL or editor continues on the next line.
    let kind = if pos >= text.len() {
        SyntaxErrorKind::UnexpectedEnd
    } else {
        SyntaxErrorKind::Unexpected
    };
    let err = SyntaxError::new(sources, kind, span, message, label);
    match help {
        Some(help) => err.with_help(help),
        None => err,
    }
}

/// The token nix's parser stops at when kiln's stops at `pos`. The grammars agree on where a
/// text goes wrong except for `...`: nix accepts it as a formal wherever one may stand and then
/// fails on the token after it (`{ ..., a }` is "unexpected ','").
fn nix_token(text: &str, pos: usize) -> String {
    let token = crate::bison::token_at(text, pos);
    if token == "ELLIPSIS" {
        let after = text[pos..].find("...").map_or(pos, |i| pos + i + 3);
        return crate::bison::token_at(text, after);
    }
    token
}

fn unterminated_error(sources: &SourceMap, file: FileId, what: Unterminated) -> SyntaxError {
    let text: &str = &sources.get(file).text;
    let start = what.start();
    // nix's lexer reads to the end of the file looking for the closing token, except for a
    // comment, which no rule matches: there it reads `/` (a division after an operand) and `*`.
    let nix_message = match what {
        Unterminated::Comment(_) => {
            let before = text[..start].trim_end();
            let after_operand = before
                .chars()
                .next_back()
                .is_some_and(|c| c.is_ascii_alphanumeric() || "_')]}\"".contains(c));
            let token = if after_operand { "'*'" } else { "'/'" };
            format!("syntax error, unexpected {token}")
        }
        Unterminated::String(_) => "syntax error, unexpected end of file, expecting '\"'".into(),
        _ => "syntax error, unexpected end of file".into(),
    };
    let (kind, help, label, width) = match what {
        Unterminated::String(_) => (
            SyntaxErrorKind::UnterminatedString,
            "unterminated string",
            "this `\"` is never closed",
            1,
        ),
        Unterminated::IndString(_) => (
            SyntaxErrorKind::UnterminatedIndString,
            "unterminated indented string",
            "this `''` is never closed",
            2,
        ),
        Unterminated::Comment(_) => (
            SyntaxErrorKind::UnterminatedComment,
            "unterminated comment",
            "this `/*` is never closed",
            2,
        ),
        Unterminated::Interpolation(_) => (
            SyntaxErrorKind::UnterminatedInterpolation,
            "unterminated interpolation",
            "this `${` has no matching `}`",
            2,
        ),
    };
    let start = start as u32;
    SyntaxError::new(
        sources,
        kind,
        Span::new(file, start, start + width),
        nix_message,
        label,
    )
    .with_help(help)
}

/// What the user sees for a rule pest expected, or `None` for internal rules.
fn rule_name(rule: Rule) -> Option<&'static str> {
    Some(match rule {
        Rule::EOI => "end of input",
        Rule::lambda
        | Rule::assert_expr
        | Rule::with_expr
        | Rule::let_expr
        | Rule::if_expr
        | Rule::expr_op
        | Rule::app
        | Rule::select
        | Rule::var
        | Rule::path
        | Rule::spath
        | Rule::uri
        | Rule::float
        | Rule::int
        | Rule::string
        | Rule::ind_string
        | Rule::paren
        | Rule::legacy_let
        | Rule::rec_attrs
        | Rule::attrs
        | Rule::list
        | Rule::op_not
        | Rule::op_neg => "an expression",
        Rule::identifier => "an identifier",
        Rule::attrpath | Rule::attr_or | Rule::attr_str | Rule::attr_dyn => "an attribute name",
        Rule::bind => "an attribute binding",
        Rule::inherit | Rule::kw_inherit => "`inherit`",
        Rule::formals | Rule::formal => "a function argument",
        Rule::ellipsis => "`...`",
        Rule::has_attr => "`?`",
        Rule::kw_then => "`then`",
        Rule::kw_else => "`else`",
        Rule::kw_in => "`in`",
        Rule::kw_or => "`or`",
        Rule::op_impl
        | Rule::op_or
        | Rule::op_and
        | Rule::op_eq
        | Rule::op_neq
        | Rule::op_leq
        | Rule::op_geq
        | Rule::op_lt
        | Rule::op_gt
        | Rule::op_update
        | Rule::op_concat
        | Rule::op_add
        | Rule::op_sub
        | Rule::op_mul
        | Rule::op_div => "an operator",
        Rule::path_interp | Rule::str_interp | Rule::ind_interp => "`${`",
        Rule::str_chars => "string characters",
        _ => return None,
    })
}

/// Literal tokens worth naming. The first-character guards of the grammar make pest report
/// the first characters of expressions and operators; those become "an expression" and
/// "an operator".
fn token_name(token: &str) -> Option<&'static str> {
    Some(match token {
        ";" => "`;`",
        "=" => "`=`",
        ":" => "`:`",
        "}" => "`}`",
        ")" => "`)`",
        "]" => "`]`",
        "," => "`,`",
        "@" => "`@`",
        "?" => "`?`",
        "or" => "`or`",
        "\"" | "''" | "(" | "[" | "{" | "<" | "~" | "let" | "rec" | "assert" | "with" | "if" => {
            "an expression"
        }
        "-" | "||" | "&&" | "==" | "!=" | "!" | ">" | "/" | "+" | "*" => "an operator",
        _ => return None,
    })
}

/// Whether `pos` follows the `=` of a binding (`a = 1 b`), looking back over balanced
/// brackets; a `;` or an unmatched opening bracket ends the search. Only picks the message.
fn after_binding_equals(text: &str, pos: usize) -> bool {
    let bytes = &text.as_bytes()[..pos.min(text.len())];
    let mut depth = 0usize;
    for (idx, &byte) in bytes.iter().enumerate().rev() {
        match byte {
            b')' | b']' | b'}' => depth += 1,
            b'(' | b'[' | b'{' => {
                if depth == 0 {
                    return false;
                }
                depth -= 1;
            }
            b';' if depth == 0 => return false,
            b'=' if depth == 0 => {
                let prev = idx.checked_sub(1).map(|i| bytes[i]);
                let next = bytes.get(idx + 1);
                let is_operator =
                    matches!(prev, Some(b'=' | b'!' | b'<' | b'>')) || next == Some(&b'=');
                if !is_operator {
                    return true;
                }
            }
            _ => {}
        }
    }
    false
}

fn join_or(items: &[&str]) -> String {
    match items {
        [] => String::new(),
        [one] => (*one).to_string(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

/// "end of input", "`}`", "`foo`": the token at `pos`, for "unexpected ...".
fn describe_found(text: &str, pos: usize) -> String {
    let Some(rest) = text.get(pos..) else {
        return "input".into();
    };
    match rest.chars().next() {
        None => "end of input".into(),
        Some(c) if c.is_ascii_alphanumeric() || c == '_' => {
            let word: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '\'' | '-'))
                .take(40)
                .collect();
            format!("`{word}`")
        }
        Some('\n') => "end of line".into(),
        Some(c) if c.is_control() => format!("character U+{:04X}", c as u32),
        Some(c) => format!("`{c}`"),
    }
}

fn found_len(text: &str, pos: usize) -> usize {
    text.get(pos..)
        .and_then(|rest| rest.chars().next())
        .map_or(0, char::len_utf8)
}
