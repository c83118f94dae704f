//! Characters and tokens for the fast parser: the byte classes of the grammar's token rules,
//! keywords, and the lookahead scans that find where a token ends without building anything.

use super::{Parser, Reject, Word, R};
use crate::span::Span;

const PATH: u8 = 1;
const IDENT: u8 = 2;
const URI: u8 = 4;

/// Character classes of the grammar's token rules, by byte.
static CLASS: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut c = 0;
    while c < 256 {
        let b = c as u8;
        let alnum = b.is_ascii_alphanumeric();
        let mut class = 0;
        if alnum || matches!(b, b'.' | b'_' | b'-' | b'+') {
            class |= PATH;
        }
        if alnum || matches!(b, b'_' | b'\'' | b'-') {
            class |= IDENT;
        }
        if alnum
            || matches!(
                b,
                b'%' | b'/'
                    | b'?'
                    | b':'
                    | b'@'
                    | b'&'
                    | b'='
                    | b'+'
                    | b'$'
                    | b','
                    | b'-'
                    | b'_'
                    | b'.'
                    | b'!'
                    | b'~'
                    | b'*'
                    | b'\''
            )
        {
            class |= URI;
        }
        table[c] = class;
        c += 1;
    }
    table
};

pub(super) fn is_alpha(c: u8) -> bool {
    c.is_ascii_alphabetic()
}

/// `path_char`
pub(super) fn is_path_char(c: u8) -> bool {
    CLASS[c as usize] & PATH != 0
}

/// `ident_char`
fn is_ident_char(c: u8) -> bool {
    CLASS[c as usize] & IDENT != 0
}

/// `uri_char`
fn is_uri_char(c: u8) -> bool {
    CLASS[c as usize] & URI != 0
}

/// The keywords of the grammar's `keyword` rule.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Kw {
    If,
    Then,
    Else,
    Assert,
    With,
    Let,
    Inherit,
    In,
    Rec,
    Or,
}

fn keyword(word: &[u8]) -> Option<Kw> {
    let (kw, text): (Kw, &[u8]) = match (word.len(), word.first()?) {
        (2, b'i') if word[1] == b'f' => (Kw::If, b"if"),
        (2, b'i') => (Kw::In, b"in"),
        (4, b't') => (Kw::Then, b"then"),
        (4, b'e') => (Kw::Else, b"else"),
        (6, b'a') => (Kw::Assert, b"assert"),
        (4, b'w') => (Kw::With, b"with"),
        (3, b'l') => (Kw::Let, b"let"),
        (7, b'i') => (Kw::Inherit, b"inherit"),
        (3, b'r') => (Kw::Rec, b"rec"),
        (2, b'o') => (Kw::Or, b"or"),
        _ => return None,
    };
    (word == text).then_some(kw)
}

impl<'a> Parser<'a> {
    // -----------------------------------------------------------------------------------------
    // Characters and tokens.

    /// The byte at `i`, or 0 at the end (the text has no NUL byte).
    pub(super) fn at(&self, i: usize) -> u8 {
        self.b.get(i).copied().unwrap_or(0)
    }

    pub(super) fn starts(&self, i: usize, lit: &str) -> bool {
        self.b
            .get(i..)
            .is_some_and(|rest| rest.starts_with(lit.as_bytes()))
    }

    /// The length of pest's `ANY` at `i`: one UTF-8 character, 0 at the end.
    pub(super) fn any_len(&self, i: usize) -> usize {
        match self.b.get(i) {
            None => 0,
            Some(&c) if c < 0x80 => 1,
            Some(&c) if c >= 0xF0 => 4,
            Some(&c) if c >= 0xE0 => 3,
            Some(_) => 2,
        }
    }

    pub(super) fn span(&self, start: usize, end: usize) -> Span {
        Span::new(self.file, start as u32, end as u32)
    }

    /// pest's implicit `WHITESPACE*` from `i`.
    pub(super) fn skip_from(&self, mut i: usize) -> usize {
        loop {
            match self.at(i) {
                b' ' | b'\t' | b'\r' | b'\n' => i += 1,
                b'#' => {
                    i += 1;
                    while !matches!(self.at(i), b'\r' | b'\n' | 0) {
                        i += 1;
                    }
                }
                b'/' if self.at(i + 1) == b'*' => {
                    match self.src.get(i + 2..).and_then(|rest| rest.find("*/")) {
                        Some(end) => i += 2 + end + 2,
                        None => return i,
                    }
                }
                _ => return i,
            }
        }
    }

    pub(super) fn skip(&mut self) {
        self.pos = self.skip_from(self.pos);
    }

    pub(super) fn expect(&mut self, byte: u8) -> R<()> {
        if self.at(self.pos) == byte {
            self.pos += 1;
            Ok(())
        } else {
            Err(Reject)
        }
    }

    pub(super) fn expect_kw(&mut self, kw: Kw) -> R<()> {
        match self.word(self.pos) {
            Word::Keyword(found, end) if found == kw => {
                self.pos = end;
                Ok(())
            }
            _ => Err(Reject),
        }
    }

    pub(super) fn path_run(&self, mut i: usize) -> usize {
        while is_path_char(self.at(i)) {
            i += 1;
        }
        i
    }

    /// `path_ahead`: `path_char* "/" (path_char | "${")`.
    pub(super) fn path_ahead(&self, i: usize) -> bool {
        let q = self.path_run(i);
        self.at(q) == b'/' && (is_path_char(self.at(q + 1)) || self.starts(q + 1, "${"))
    }

    /// `uri_ahead`: `ALPHA (ALNUM | "+" | "-" | ".")* ":" uri_char`.
    pub(super) fn uri_ahead(&self, i: usize) -> bool {
        if !is_alpha(self.at(i)) {
            return false;
        }
        let mut q = i + 1;
        while self.at(q).is_ascii_alphanumeric() || matches!(self.at(q), b'+' | b'-' | b'.') {
            q += 1;
        }
        self.at(q) == b':' && is_uri_char(self.at(q + 1))
    }

    /// Classifies the word at `i`, which starts with a letter or `_`.
    pub(super) fn word(&self, i: usize) -> Word {
        let (at, word) = self.last_word.get();
        if at == i {
            return word;
        }
        let word = self.classify_word(i);
        self.last_word.set((i, word));
        word
    }

    pub(super) fn classify_word(&self, i: usize) -> Word {
        let c = self.at(i);
        if !(is_alpha(c) || c == b'_') {
            return Word::Other;
        }
        // As the grammar's `path_or_uri_end`: a path or URI needs its run of path characters
        // (which include the URI scheme characters) to stop at `/` or `:`.
        let run_end = self.path_run(i);
        if matches!(self.at(run_end), b'/' | b':') && (self.path_ahead(i) || self.uri_ahead(i)) {
            return Word::Other;
        }
        let mut end = i + 1;
        while is_ident_char(self.at(end)) {
            end += 1;
        }
        if end - i > 7 || !c.is_ascii_lowercase() {
            return Word::Ident(end);
        }
        match keyword(&self.b[i..end]) {
            Some(kw) => Word::Keyword(kw, end),
            None => Word::Ident(end),
        }
    }

    /// `float` at `i`, returning its end.
    pub(super) fn float_end(&self, i: usize) -> Option<usize> {
        let digits = |mut q: usize| {
            while self.at(q).is_ascii_digit() {
                q += 1;
            }
            q
        };
        let mut q = if matches!(self.at(i), b'1'..=b'9') && self.at(digits(i)) == b'.' {
            digits(digits(i) + 1)
        } else {
            let q = if self.at(i) == b'0' { i + 1 } else { i };
            if self.at(q) != b'.' || !self.at(q + 1).is_ascii_digit() {
                return None;
            }
            digits(q + 1)
        };
        if matches!(self.at(q), b'e' | b'E') {
            let mut e = q + 1;
            if matches!(self.at(e), b'+' | b'-') {
                e += 1;
            }
            if self.at(e).is_ascii_digit() {
                q = digits(e);
            }
        }
        Some(q)
    }

    /// `dot`: a `.` that starts neither a path, a float nor `...`.
    pub(super) fn dot_at(&self, i: usize) -> bool {
        self.at(i) == b'.'
            && !self.path_ahead(i)
            && self.float_end(i).is_none()
            && !self.starts(i, "...")
    }

    /// `spath` at `i`, returning its end.
    pub(super) fn spath_end(&self, i: usize) -> Option<usize> {
        if self.at(i) != b'<' || !is_path_char(self.at(i + 1)) {
            return None;
        }
        let mut q = self.path_run(i + 1);
        while self.at(q) == b'/' && is_path_char(self.at(q + 1)) {
            q = self.path_run(q + 1);
        }
        (self.at(q) == b'>').then_some(q + 1)
    }

    /// `uri` at `i` (which `uri_ahead` holds for), returning its end.
    pub(super) fn uri_end(&self, i: usize) -> usize {
        let mut q = i + 1;
        while self.at(q).is_ascii_alphanumeric() || matches!(self.at(q), b'+' | b'-' | b'.') {
            q += 1;
        }
        q += 1;
        while is_uri_char(self.at(q)) {
            q += 1;
        }
        q
    }

    /// `("/" ~ path_char+)+ ~ "/"?` from `q`, which must start it.
    pub(super) fn path_segments(&self, mut q: usize) -> usize {
        while self.at(q) == b'/' && is_path_char(self.at(q + 1)) {
            q = self.path_run(q + 1);
        }
        if self.at(q) == b'/' {
            q += 1;
        }
        q
    }

    /// `path_plain` at `i`.
    pub(super) fn path_plain_end(&self, i: usize) -> Option<usize> {
        let q = self.path_run(i);
        (self.at(q) == b'/' && is_path_char(self.at(q + 1))).then(|| self.path_segments(q))
    }

    /// `path_head` or `hpath_head` at `i`: its end and whether it is a `~` path.
    pub(super) fn path_head_end(&self, i: usize) -> Option<(usize, bool)> {
        if self.at(i) == b'~' {
            if self.at(i + 1) == b'/' && is_path_char(self.at(i + 2)) {
                return Some((self.path_segments(i + 1), true));
            }
            return self.starts(i, "~/${").then_some((i + 2, true));
        }
        if let Some(end) = self.path_plain_end(i) {
            return Some((end, false));
        }
        let q = self.path_run(i);
        (self.at(q) == b'/' && self.starts(q + 1, "${")).then_some((q + 1, false))
    }

    /// `path_piece` at `i`.
    pub(super) fn path_piece_end(&self, i: usize) -> Option<usize> {
        if let Some(end) = self.path_plain_end(i) {
            return Some(end);
        }
        let q = self.path_run(i);
        if self.at(q) == b'/' {
            Some(q + 1)
        } else {
            (q > i).then_some(q)
        }
    }

    /// `str_chars` from `i` (possibly empty), returning its end.
    pub(super) fn str_chars_end(&self, mut q: usize) -> usize {
        loop {
            match self.at(q) {
                b'\\' => match self.any_len(q + 1) {
                    0 => return q,
                    w => q += 1 + w,
                },
                b'$' => {
                    let next = self.at(q + 1);
                    if next == b'\\' && self.any_len(q + 2) > 0 {
                        q += 2 + self.any_len(q + 2);
                    } else if !matches!(next, b'{' | b'"' | b'\\' | 0) {
                        q += 1 + self.any_len(q + 1);
                    } else if next == b'"' {
                        q += 1;
                    } else {
                        return q;
                    }
                }
                b'"' | 0 => return q,
                _ => q += self.any_len(q),
            }
        }
    }

    /// `ind_text` from `i` (possibly empty), returning its end.
    pub(super) fn ind_text_end(&self, mut q: usize) -> usize {
        loop {
            let c = self.at(q);
            if q >= self.b.len() {
                return q;
            }
            let next = self.at(q + 1);
            let has_next = q + 1 < self.b.len();
            match c {
                b'$' if has_next && next != b'{' && next != b'\'' => q += 1 + self.any_len(q + 1),
                b'\'' if has_next && next != b'\'' && next != b'$' => q += 1 + self.any_len(q + 1),
                b'$' | b'\'' => return q,
                _ => q += self.any_len(q),
            }
        }
    }
}
