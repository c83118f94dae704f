//! nix 2.8's wording of an invalid `fromJSON` text, which is nlohmann/json's: for example
//! `[json.exception.parse_error.101] parse error at line 1, column 4: syntax error while parsing
//! value - unexpected ']'; expected '[', '{', or a literal`.
//!
//! nlohmann words an error by its lexer's state: the token it stopped at (by its token-type
//! name), the position after the last character it read (`unget` included), and for a lexer
//! error everything read since the lexer last started a string, number or literal ("last
//! read"). kiln's own parser (`json.rs`) is shaped differently, so when it rejects a text this
//! module reads the text again the way nlohmann does, only to word the error.
//!
//! Design decision: a second reading on failure rather than an nlohmann-shaped main parser keeps
//! the hot path as it is; a text kiln rejects is read twice, once. If the two readers ever
//! disagree (this one accepts), the caller keeps kiln's own message.

/// nlohmann's token types, named as its `token_type_name` names them.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Token {
    BeginArray,
    EndArray,
    BeginObject,
    EndObject,
    NameSeparator,
    ValueSeparator,
    Literal,
    String,
    Number { float: bool },
    EndOfInput,
    ParseError,
}

fn token_name(token: Token) -> &'static str {
    match token {
        Token::BeginArray => "'['",
        Token::EndArray => "']'",
        Token::BeginObject => "'{'",
        Token::EndObject => "'}'",
        Token::NameSeparator => "':'",
        Token::ValueSeparator => "','",
        Token::Literal => "literal",
        Token::String => "string literal",
        Token::Number { .. } => "number literal",
        Token::EndOfInput => "end of input",
        Token::ParseError => "<parse error>",
    }
}

/// What the parser wanted, for "; expected ...".
#[derive(Clone, Copy)]
enum Expected {
    Nothing,
    Token(Token),
    LiteralOrValue,
}

struct Lexer<'a> {
    text: &'a [u8],
    /// Index of the next byte to read.
    next: usize,
    /// The byte last read; `None` at the end of the input.
    current: Option<u8>,
    /// `unget` was called: the next `get` returns `current` again.
    next_unget: bool,
    lines_read: usize,
    column: usize,
    token_string: Vec<u8>,
    error_message: &'static str,
    /// The literal's kind, for the "unexpected true literal" wording.
    literal_name: &'static str,
}

impl Lexer<'_> {
    fn get(&mut self) -> Option<u8> {
        self.column += 1;
        if self.next_unget {
            self.next_unget = false;
        } else {
            self.current = self.text.get(self.next).copied();
            if self.current.is_some() {
                self.next += 1;
            }
        }
        if let Some(c) = self.current {
            self.token_string.push(c);
            if c == b'\n' {
                self.lines_read += 1;
                self.column = 0;
            }
        }
        self.current
    }

    fn unget(&mut self) {
        self.next_unget = true;
        if self.column == 0 {
            self.lines_read = self.lines_read.saturating_sub(1);
        } else {
            self.column -= 1;
        }
        if self.current.is_some() {
            self.token_string.pop();
        }
    }

    /// Starts a new token string with the current byte.
    fn reset(&mut self) {
        self.token_string.clear();
        if let Some(c) = self.current {
            self.token_string.push(c);
        }
    }

    fn scan(&mut self) -> Token {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.get() {}
        match self.current {
            Some(b'[') => Token::BeginArray,
            Some(b']') => Token::EndArray,
            Some(b'{') => Token::BeginObject,
            Some(b'}') => Token::EndObject,
            Some(b':') => Token::NameSeparator,
            Some(b',') => Token::ValueSeparator,
            Some(b't') => self.literal(b"true", "true literal"),
            Some(b'f') => self.literal(b"false", "false literal"),
            Some(b'n') => self.literal(b"null", "null literal"),
            Some(b'"') => self.string(),
            Some(b'-' | b'0'..=b'9') => self.number(),
            None | Some(0) => Token::EndOfInput,
            Some(_) => self.fail("invalid literal"),
        }
    }

    fn fail(&mut self, message: &'static str) -> Token {
        self.error_message = message;
        Token::ParseError
    }

    fn literal(&mut self, word: &[u8], name: &'static str) -> Token {
        for &expected in &word[1..] {
            if self.get() != Some(expected) {
                return self.fail("invalid literal");
            }
        }
        self.literal_name = name;
        Token::Literal
    }

    fn hex4(&mut self) -> Option<u32> {
        let mut value = 0;
        for _ in 0..4 {
            let digit = (self.get()? as char).to_digit(16)?;
            value = value * 16 + digit;
        }
        Some(value)
    }

    fn string(&mut self) -> Token {
        self.reset();
        loop {
            let Some(c) = self.get() else {
                return self.fail("invalid string: missing closing quote");
            };
            match c {
                b'"' => return Token::String,
                b'\\' => match self.get() {
                    Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => {}
                    Some(b'u') => {
                        let Some(first) = self.hex4() else {
                            return self
                                .fail("invalid string: '\\u' must be followed by 4 hex digits");
                        };
                        if (0xD800..=0xDBFF).contains(&first) {
                            if self.get() != Some(b'\\') || self.get() != Some(b'u') {
                                return self.fail("invalid string: surrogate U+D800..U+DBFF must be followed by U+DC00..U+DFFF");
                            }
                            let Some(second) = self.hex4() else {
                                return self.fail(
                                    "invalid string: '\\u' must be followed by 4 hex digits",
                                );
                            };
                            if !(0xDC00..=0xDFFF).contains(&second) {
                                return self.fail("invalid string: surrogate U+D800..U+DBFF must be followed by U+DC00..U+DFFF");
                            }
                        } else if (0xDC00..=0xDFFF).contains(&first) {
                            return self.fail("invalid string: surrogate U+DC00..U+DFFF must follow U+D800..U+DBFF");
                        }
                    }
                    _ => return self.fail("invalid string: forbidden character after backslash"),
                },
                0x00..=0x1F => return self.fail(control_message(c)),
                // UTF-8 is checked by the caller's string type already; nix strings are bytes.
                _ => {}
            }
        }
    }

    fn number(&mut self) -> Token {
        self.reset();
        let mut float = false;
        let mut c = self.current;
        if c == Some(b'-') {
            c = self.get();
            if !c.is_some_and(|c| c.is_ascii_digit()) {
                return self.fail("invalid number; expected digit after '-'");
            }
        }
        if c != Some(b'0') {
            while self.get().is_some_and(|c| c.is_ascii_digit()) {}
        } else {
            self.get();
        }
        if self.current == Some(b'.') {
            float = true;
            if !self.get().is_some_and(|c| c.is_ascii_digit()) {
                return self.fail("invalid number; expected digit after '.'");
            }
            while self.get().is_some_and(|c| c.is_ascii_digit()) {}
        }
        if matches!(self.current, Some(b'e' | b'E')) {
            float = true;
            match self.get() {
                Some(b'+' | b'-') => {
                    if !self.get().is_some_and(|c| c.is_ascii_digit()) {
                        return self.fail("invalid number; expected digit after exponent sign");
                    }
                }
                Some(c) if c.is_ascii_digit() => {}
                _ => {
                    return self.fail("invalid number; expected '+', '-', or digit after exponent")
                }
            }
            while self.get().is_some_and(|c| c.is_ascii_digit()) {}
        }
        self.unget();
        Token::Number { float }
    }

    /// The token string as nlohmann prints it: control characters as `<U+001F>`.
    fn token_string(&self) -> String {
        let mut out = Vec::new();
        for &c in &self.token_string {
            if c <= 0x1F {
                out.extend_from_slice(format!("<U+{c:04X}>").as_bytes());
            } else {
                out.push(c);
            }
        }
        String::from_utf8_lossy(&out).into_owned()
    }
}

/// nlohmann's message for a raw control character in a string.
fn control_message(c: u8) -> &'static str {
    const NAMES: [&str; 32] = [
        "invalid string: control character U+0000 (NUL) must be escaped to \\u0000",
        "invalid string: control character U+0001 (SOH) must be escaped to \\u0001",
        "invalid string: control character U+0002 (STX) must be escaped to \\u0002",
        "invalid string: control character U+0003 (ETX) must be escaped to \\u0003",
        "invalid string: control character U+0004 (EOT) must be escaped to \\u0004",
        "invalid string: control character U+0005 (ENQ) must be escaped to \\u0005",
        "invalid string: control character U+0006 (ACK) must be escaped to \\u0006",
        "invalid string: control character U+0007 (BEL) must be escaped to \\u0007",
        "invalid string: control character U+0008 (BS) must be escaped to \\u0008 or \\b",
        "invalid string: control character U+0009 (HT) must be escaped to \\u0009 or \\t",
        "invalid string: control character U+000A (LF) must be escaped to \\u000A or \\n",
        "invalid string: control character U+000B (VT) must be escaped to \\u000B",
        "invalid string: control character U+000C (FF) must be escaped to \\u000C or \\f",
        "invalid string: control character U+000D (CR) must be escaped to \\u000D or \\r",
        "invalid string: control character U+000E (SO) must be escaped to \\u000E",
        "invalid string: control character U+000F (SI) must be escaped to \\u000F",
        "invalid string: control character U+0010 (DLE) must be escaped to \\u0010",
        "invalid string: control character U+0011 (DC1) must be escaped to \\u0011",
        "invalid string: control character U+0012 (DC2) must be escaped to \\u0012",
        "invalid string: control character U+0013 (DC3) must be escaped to \\u0013",
        "invalid string: control character U+0014 (DC4) must be escaped to \\u0014",
        "invalid string: control character U+0015 (NAK) must be escaped to \\u0015",
        "invalid string: control character U+0016 (SYN) must be escaped to \\u0016",
        "invalid string: control character U+0017 (ETB) must be escaped to \\u0017",
        "invalid string: control character U+0018 (CAN) must be escaped to \\u0018",
        "invalid string: control character U+0019 (EM) must be escaped to \\u0019",
        "invalid string: control character U+001A (SUB) must be escaped to \\u001A",
        "invalid string: control character U+001B (ESC) must be escaped to \\u001B",
        "invalid string: control character U+001C (FS) must be escaped to \\u001C",
        "invalid string: control character U+001D (GS) must be escaped to \\u001D",
        "invalid string: control character U+001E (RS) must be escaped to \\u001E",
        "invalid string: control character U+001F (US) must be escaped to \\u001F",
    ];
    NAMES[usize::from(c & 0x1F)]
}

/// nlohmann's message for `text`, or `None` if nlohmann would accept it.
pub(crate) fn nlohmann_error(text: &str) -> Option<String> {
    let mut lexer = Lexer {
        text: text.as_bytes(),
        next: 0,
        current: None,
        next_unget: false,
        lines_read: 0,
        column: 0,
        token_string: Vec::new(),
        error_message: "",
        literal_name: "",
    };
    let syntax = |lexer: &Lexer, last: Token, expected: Expected, context: &str| {
        let mut message = format!("syntax error while parsing {context} - ");
        if last == Token::ParseError {
            message.push_str(&format!(
                "{}; last read: '{}'",
                lexer.error_message,
                lexer.token_string()
            ));
        } else {
            let name = match last {
                Token::Literal => lexer.literal_name,
                other => token_name(other),
            };
            message.push_str(&format!("unexpected {name}"));
        }
        match expected {
            Expected::Nothing => {}
            Expected::Token(token) => {
                message.push_str(&format!("; expected {}", token_name(token)))
            }
            Expected::LiteralOrValue => message.push_str("; expected '[', '{', or a literal"),
        }
        Some(format!(
            "[json.exception.parse_error.101] parse error at line {}, column {}: {message}",
            lexer.lines_read + 1,
            lexer.column
        ))
    };
    // `states`: true for an array, false for an object (nlohmann's `sax_parse_internal`).
    let mut states: Vec<bool> = Vec::new();
    let mut last = lexer.scan();
    let mut skip_to_state = false;
    loop {
        if !skip_to_state {
            match last {
                Token::BeginObject => {
                    last = lexer.scan();
                    if last != Token::EndObject {
                        if last != Token::String {
                            return syntax(
                                &lexer,
                                last,
                                Expected::Token(Token::String),
                                "object key",
                            );
                        }
                        last = lexer.scan();
                        if last != Token::NameSeparator {
                            return syntax(
                                &lexer,
                                last,
                                Expected::Token(Token::NameSeparator),
                                "object separator",
                            );
                        }
                        states.push(false);
                        last = lexer.scan();
                        continue;
                    }
                }
                Token::BeginArray => {
                    last = lexer.scan();
                    if last != Token::EndArray {
                        states.push(true);
                        continue;
                    }
                }
                Token::Number { float: true } => {
                    let number = String::from_utf8_lossy(&lexer.token_string).into_owned();
                    if !number.parse::<f64>().is_ok_and(f64::is_finite) {
                        return Some(format!(
                            "[json.exception.out_of_range.406] number overflow parsing '{number}'"
                        ));
                    }
                }
                Token::Number { float: false } | Token::Literal | Token::String => {}
                Token::ParseError => return syntax(&lexer, last, Expected::Nothing, "value"),
                _ => return syntax(&lexer, last, Expected::LiteralOrValue, "value"),
            }
        } else {
            skip_to_state = false;
        }
        let Some(&in_array) = states.last() else {
            last = lexer.scan();
            if last != Token::EndOfInput {
                return syntax(&lexer, last, Expected::Token(Token::EndOfInput), "value");
            }
            return None;
        };
        last = lexer.scan();
        if last == Token::ValueSeparator {
            last = lexer.scan();
            if !in_array {
                if last != Token::String {
                    return syntax(&lexer, last, Expected::Token(Token::String), "object key");
                }
                last = lexer.scan();
                if last != Token::NameSeparator {
                    return syntax(
                        &lexer,
                        last,
                        Expected::Token(Token::NameSeparator),
                        "object separator",
                    );
                }
                last = lexer.scan();
            }
            continue;
        }
        let (close, context) = if in_array {
            (Token::EndArray, "array")
        } else {
            (Token::EndObject, "object")
        };
        if last == close {
            states.pop();
            skip_to_state = true;
            continue;
        }
        return syntax(&lexer, last, Expected::Token(close), context);
    }
}

#[cfg(test)]
mod tests {
    use super::nlohmann_error;

    /// Each message is what nix 2.8 prints for `builtins.fromJSON TEXT`.
    #[test]
    fn words_errors_as_nlohmann() {
        let cases = [
            ("", "[json.exception.parse_error.101] parse error at line 1, column 1: syntax error while parsing value - unexpected end of input; expected '[', '{', or a literal"),
            ("01", "[json.exception.parse_error.101] parse error at line 1, column 2: syntax error while parsing value - unexpected number literal; expected end of input"),
            ("[1,]", "[json.exception.parse_error.101] parse error at line 1, column 4: syntax error while parsing value - unexpected ']'; expected '[', '{', or a literal"),
            ("[1] x", "[json.exception.parse_error.101] parse error at line 1, column 5: syntax error while parsing value - invalid literal; last read: '1] x'; expected end of input"),
            ("\"a\tb\"", "[json.exception.parse_error.101] parse error at line 1, column 3: syntax error while parsing value - invalid string: control character U+0009 (HT) must be escaped to \\u0009 or \\t; last read: '\"a<U+0009>'"),
            ("\"\\ud800\"", "[json.exception.parse_error.101] parse error at line 1, column 8: syntax error while parsing value - invalid string: surrogate U+D800..U+DBFF must be followed by U+DC00..U+DFFF; last read: '\"\\ud800\"'"),
            ("1e400", "[json.exception.out_of_range.406] number overflow parsing '1e400'"),
        ];
        for (text, expected) in cases {
            assert_eq!(nlohmann_error(text).as_deref(), Some(expected), "{text:?}");
        }
        assert_eq!(nlohmann_error("{\"a\": [1, 2.5, true, null]}"), None);
    }
}
