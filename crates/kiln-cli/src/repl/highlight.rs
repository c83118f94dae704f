//! Syntax colouring of the line being typed. A small scanner rather than the parser: the line
//! is usually incomplete, and colouring must never fail or lag.

const KEYWORD: &str = "\x1b[35m";
const STRING: &str = "\x1b[33m";
const NUMBER: &str = "\x1b[36m";
const COMMENT: &str = "\x1b[2m";
const COMMAND: &str = "\x1b[1m";
const NORMAL: &str = "\x1b[0m";

const KEYWORDS: &[&str] = &[
    "assert", "else", "if", "in", "inherit", "let", "or", "rec", "then", "with",
];

/// `line` with ANSI colours for keywords, strings, numbers, comments and a leading command.
pub(crate) fn highlight(line: &str) -> String {
    let mut out = String::with_capacity(line.len() * 2);
    let mut rest = line;
    if line.starts_with(':') {
        let end = line.find(char::is_whitespace).unwrap_or(line.len());
        paint(&mut out, COMMAND, &line[..end]);
        rest = &line[end..];
    }
    while let Some(c) = rest.chars().next() {
        let len = if c == '#' {
            paint(&mut out, COMMENT, rest);
            rest.len()
        } else if c == '"' {
            let len = string_len(rest);
            paint(&mut out, STRING, &rest[..len]);
            len
        } else if c.is_ascii_digit() {
            let len = rest
                .find(|c: char| !(c.is_ascii_digit() || c == '.'))
                .unwrap_or(rest.len());
            paint(&mut out, NUMBER, &rest[..len]);
            len
        } else if c.is_ascii_alphabetic() || c == '_' {
            let len = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '\'')))
                .unwrap_or(rest.len());
            let word = &rest[..len];
            if KEYWORDS.contains(&word) {
                paint(&mut out, KEYWORD, word);
            } else {
                out.push_str(word);
            }
            len
        } else {
            out.push(c);
            c.len_utf8()
        };
        rest = &rest[len..];
    }
    out
}

/// The length of the string literal at the start of `text` (to its end if unterminated).
fn string_len(text: &str) -> usize {
    let mut escaped = false;
    for (i, c) in text.char_indices().skip(1) {
        match c {
            '\\' if !escaped => escaped = true,
            '"' if !escaped => return i + 1,
            _ => escaped = false,
        }
    }
    text.len()
}

fn paint(out: &mut String, color: &str, text: &str) {
    out.push_str(color);
    out.push_str(text);
    out.push_str(NORMAL);
}

#[cfg(test)]
mod tests {
    use super::highlight;

    #[test]
    fn keeps_the_text() {
        for line in [
            ":p let a = \"x\\\"y\"; in a # c",
            "x = 1.5 + f \"unterminated",
            "é ∘ ''",
        ] {
            assert_eq!(strip_codes(&highlight(line)), line);
        }
    }

    fn strip_codes(text: &str) -> String {
        let mut out = String::new();
        let mut chars = text.chars();
        while let Some(c) = chars.next() {
            if c == '\x1b' {
                for c in chars.by_ref() {
                    if c == 'm' {
                        break;
                    }
                }
            } else {
                out.push(c);
            }
        }
        out
    }
}
