//! A cheap scan of the raw text for constructs that run to the end of the input: strings,
//! indented strings, block comments and `${`. pest only says "unexpected end of input" for
//! those; this scan finds where the unterminated construct *starts*, which is what the user
//! needs to see.
//!
//! It follows flex's lexer states (DEFAULT, STRING, IND_STRING) closely but not exactly, so its
//! answer is only used to explain a parse that already failed.

/// An unterminated construct and the byte offset where it starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Unterminated {
    String(usize),
    IndString(usize),
    Comment(usize),
    Interpolation(usize),
}

impl Unterminated {
    pub(crate) fn start(self) -> usize {
        match self {
            Unterminated::String(at)
            | Unterminated::IndString(at)
            | Unterminated::Comment(at)
            | Unterminated::Interpolation(at) => at,
        }
    }
}

enum Frame {
    /// Code; `interp` is the offset of the `${` that opened it (none for the top level).
    Code {
        interp: Option<usize>,
        braces: usize,
    },
    Str(usize),
    Ind(usize),
}

/// The innermost construct still open at the end of `text`, if any.
pub(crate) fn find_unterminated(text: &str) -> Option<Unterminated> {
    let bytes = text.as_bytes();
    let mut stack = vec![Frame::Code {
        interp: None,
        braces: 0,
    }];
    let mut i = 0;
    let at = |i: usize| bytes.get(i).copied().unwrap_or(0);
    while i < bytes.len() {
        let frame = stack.last_mut()?;
        match frame {
            Frame::Code { braces, .. } => match bytes[i] {
                b'#' => {
                    while i < bytes.len() && bytes[i] != b'\n' && bytes[i] != b'\r' {
                        i += 1;
                    }
                }
                b'/' if at(i + 1) == b'*' => match text[i + 2..].find("*/") {
                    Some(end) => i += 2 + end + 2,
                    None => return Some(Unterminated::Comment(i)),
                },
                b'"' => {
                    stack.push(Frame::Str(i));
                    i += 1;
                }
                b'\'' if at(i + 1) == b'\'' && !(i > 0 && is_ident_byte(bytes[i - 1])) => {
                    stack.push(Frame::Ind(i));
                    i += 2;
                }
                b'$' if at(i + 1) == b'{' => {
                    stack.push(Frame::Code {
                        interp: Some(i),
                        braces: 0,
                    });
                    i += 2;
                }
                b'{' => {
                    *braces += 1;
                    i += 1;
                }
                b'}' => {
                    if *braces > 0 {
                        *braces -= 1;
                    } else if stack.len() > 1 {
                        stack.pop();
                    }
                    i += 1;
                }
                _ => i += 1,
            },
            Frame::Str(_) => match bytes[i] {
                b'\\' => i += 2,
                b'"' => {
                    stack.pop();
                    i += 1;
                }
                b'$' if at(i + 1) == b'{' => {
                    stack.push(Frame::Code {
                        interp: Some(i),
                        braces: 0,
                    });
                    i += 2;
                }
                b'$' if at(i + 1) == b'\\' => i += 3,
                b'$' if at(i + 1) != b'"' => i += 2,
                _ => i += 1,
            },
            Frame::Ind(_) => match bytes[i] {
                b'\'' if at(i + 1) == b'\'' => match at(i + 2) {
                    b'\'' | b'$' => i += 3,
                    b'\\' => i += 4,
                    _ => {
                        stack.pop();
                        i += 2;
                    }
                },
                b'$' if at(i + 1) == b'{' => {
                    stack.push(Frame::Code {
                        interp: Some(i),
                        braces: 0,
                    });
                    i += 2;
                }
                b'$' if at(i + 1) != b'\'' => i += 2,
                _ => i += 1,
            },
        }
    }
    match stack.pop()? {
        Frame::Str(start) => Some(Unterminated::String(start)),
        Frame::Ind(start) => Some(Unterminated::IndString(start)),
        Frame::Code {
            interp: Some(start),
            braces: 0,
        } => Some(Unterminated::Interpolation(start)),
        Frame::Code { .. } => None,
    }
}

fn is_ident_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'_' | b'\'' | b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_innermost_open_construct() {
        assert_eq!(find_unterminated(r#"{ a = "x"; }"#), None);
        assert_eq!(
            find_unterminated(r#"{ a = "x; }"#),
            Some(Unterminated::String(6))
        );
        assert_eq!(find_unterminated("''a''"), None);
        assert_eq!(
            find_unterminated("x ''a'''"),
            Some(Unterminated::IndString(2))
        );
        assert_eq!(find_unterminated("1 /* x"), Some(Unterminated::Comment(2)));
        assert_eq!(
            find_unterminated(r#""a ${b"#),
            Some(Unterminated::Interpolation(3))
        );
        assert_eq!(find_unterminated("a'' b"), None);
    }
}
