//! POSIX extended regular expressions as Nix 2.8 runs them, for `builtins.match` and `builtins.split`.
//!
//! Nix compiles patterns with C++ `std::regex(re, std::regex::extended)` (libstdc++), which has its
//! own reading of POSIX ERE.
//! This module parses that dialect itself and translates it into a byte-oriented pattern for
//! `regex-automata`, because the `regex` crate's syntax differs in many small places: `\d` and `\1`
//! are errors in Nix, only special characters may be escaped, a backslash inside a bracket is a
//! literal, `]` first in a bracket is a literal, `a+?` is two stacked greedy quantifiers, and `.`
//! matches one *byte* (so `.` does not match `é`).
//!
//! Semantics of a match, as observed with the oracle:
//! - `match` must cover the whole string; its capture groups are those of the first path a
//!   backtracking matcher finds, which is what leftmost-first (Perl-like) semantics give for an
//!   anchored, whole-string search.
//! - `split` iterates like `std::sregex_iterator` with POSIX rules: the leftmost start wins, and
//!   from there the *longest* match (so `split "(a|ab)" "xabc"` matches `ab`).
//!   After an empty match the next search starts one byte further.
//!
//! The rejected alternative was to hand patterns to `regex::Regex` after a few textual rewrites; it
//! would accept `\d`, treat `a+?` as lazy and match Unicode scalar values instead of bytes.

use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::ops::Range;
use std::rc::Rc;

use regex_automata::hybrid::dfa::{Cache as DfaCache, DFA};
use regex_automata::meta;
use regex_automata::util::captures::Captures;
use regex_automata::util::syntax;
use regex_automata::{Anchored, Input, MatchKind};

/// A pattern that libstdc++ would reject; the message names the pattern as Nix does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RegexError {
    pub(crate) pattern: String,
}

impl std::fmt::Display for RegexError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "invalid regular expression '{}'", self.pattern)
    }
}

/// The byte ranges of one capture-group set: index 0 is the whole match, `None` an unmatched group.
pub(crate) type Groups = Vec<Option<Range<usize>>>;

/// A compiled POSIX ERE.
pub(crate) struct PosixRegex {
    /// Leftmost-first, unanchored: finds where the leftmost match starts.
    search: meta::Regex,
    /// `(?:re)\z`, leftmost-first: the captures of a match ending at a given offset.
    exact: meta::Regex,
    /// Forward lazy DFA with `MatchKind::All`: the longest match from a given start.
    longest: DFA,
    longest_cache: RefCell<DfaCache>,
}

impl PosixRegex {
    /// Parses and compiles `pattern`.
    pub(crate) fn new(pattern: &str) -> Result<PosixRegex, RegexError> {
        let err = || RegexError {
            pattern: pattern.to_owned(),
        };
        let translated = translate(pattern.as_bytes()).ok_or_else(err)?;
        let syntax = syntax::Config::new().unicode(false).utf8(false);
        let build = |pat: &str| {
            meta::Regex::builder()
                .syntax(syntax)
                .configure(
                    meta::Regex::config()
                        .utf8_empty(false)
                        .nfa_size_limit(Some(64 << 20)),
                )
                .build(pat)
                .map_err(|_| err())
        };
        let search = build(&translated)?;
        let exact = build(&format!("(?:{translated})\\z"))?;
        let longest = DFA::builder()
            .syntax(syntax)
            .configure(DFA::config().match_kind(MatchKind::All))
            .thompson(regex_automata::nfa::thompson::Config::new().nfa_size_limit(Some(64 << 20)))
            .build(&translated)
            .map_err(|_| err())?;
        let longest_cache = RefCell::new(longest.create_cache());
        Ok(PosixRegex {
            search,
            exact,
            longest,
            longest_cache,
        })
    }

    /// The number of capture groups, not counting the whole match.
    pub(crate) fn group_count(&self) -> usize {
        self.search.captures_len().saturating_sub(1)
    }

    /// `builtins.match`: the groups of a match covering all of `hay`, or `None`.
    pub(crate) fn full_match(&self, hay: &[u8]) -> Option<Groups> {
        let input = Input::new(hay).anchored(Anchored::Yes);
        let mut caps = self.exact.create_captures();
        self.exact.search_captures(&input, &mut caps);
        caps.is_match()
            .then(|| groups_of(&caps, self.group_count()))
    }

    /// `builtins.split`: every match in order, as `std::sregex_iterator` finds them.
    pub(crate) fn find_all(&self, hay: &[u8]) -> Vec<Groups> {
        let mut res = Vec::new();
        let mut pos = 0;
        while pos <= hay.len() {
            let Some(groups) = self.find_at(hay, pos) else {
                break;
            };
            let Some(whole) = groups[0].clone() else {
                break;
            };
            res.push(groups);
            pos = if whole.is_empty() {
                // An empty match: the longest match here was empty, so the next one starts later.
                whole.end + 1
            } else {
                whole.end
            };
        }
        res
    }

    /// The leftmost-longest match starting at or after `from`.
    fn find_at(&self, hay: &[u8], from: usize) -> Option<Groups> {
        let input = Input::new(hay).range(from..);
        let mut caps = self.search.create_captures();
        self.search.search_captures(&input, &mut caps);
        let first = caps.get_match()?;
        let end = self.longest_end(hay, first.start()).unwrap_or(first.end());
        if end == first.end() {
            return Some(groups_of(&caps, self.group_count()));
        }
        // A longer match than the leftmost-first one exists: take the captures of the first path
        // that ends exactly there.
        let input = Input::new(&hay[..end])
            .range(first.start()..end)
            .anchored(Anchored::Yes);
        let mut exact_caps = self.exact.create_captures();
        self.exact.search_captures(&input, &mut exact_caps);
        if exact_caps.is_match() {
            Some(groups_of(&exact_caps, self.group_count()))
        } else {
            Some(groups_of(&caps, self.group_count()))
        }
    }

    fn longest_end(&self, hay: &[u8], start: usize) -> Option<usize> {
        let input = Input::new(hay).range(start..).anchored(Anchored::Yes);
        let mut cache = self.longest_cache.try_borrow_mut().ok()?;
        let half = self.longest.try_search_fwd(&mut cache, &input).ok()??;
        Some(half.offset())
    }
}

fn groups_of(caps: &Captures, n_groups: usize) -> Groups {
    (0..=n_groups)
        .map(|idx| caps.get_group(idx).map(|span| span.range()))
        .collect()
}

thread_local! {
    static CACHE: RefCell<HashMap<String, Rc<PosixRegex>>> = RefCell::new(HashMap::new());
}

/// Compiles `pattern`, reusing an earlier compilation of the same pattern on this thread.
pub(crate) fn compile_cached(pattern: &str) -> Result<Rc<PosixRegex>, RegexError> {
    if let Some(hit) = CACHE.with(|cache| cache.borrow().get(pattern).cloned()) {
        return Ok(hit);
    }
    let compiled = Rc::new(PosixRegex::new(pattern)?);
    CACHE.with(|cache| {
        let mut cache = cache.borrow_mut();
        // Patterns built from data could grow the cache without bound; start again instead.
        if cache.len() >= 4096 {
            cache.clear();
        }
        cache.insert(pattern.to_owned(), Rc::clone(&compiled));
    });
    Ok(compiled)
}

/// Translates libstdc++'s ERE dialect into `regex-syntax` in byte mode; `None` if it is invalid.
fn translate(pattern: &[u8]) -> Option<String> {
    let mut parser = Parser {
        pat: pattern,
        pos: 0,
        out: String::from("(?s-u)"),
        depth: 0,
    };
    parser.disjunction()?;
    if parser.pos != pattern.len() {
        return None;
    }
    Some(parser.out)
}

struct Parser<'a> {
    pat: &'a [u8],
    pos: usize,
    out: String,
    depth: usize,
}

/// The characters that may follow a backslash outside brackets (libstdc++ `_M_extended_spec_char`).
const ESCAPABLE: &[u8] = b".[\\()*+?{|^$";

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.pat.get(self.pos).copied()
    }

    fn disjunction(&mut self) -> Option<()> {
        self.alternative()?;
        while self.peek() == Some(b'|') {
            self.pos += 1;
            self.out.push('|');
            self.alternative()?;
        }
        Some(())
    }

    fn alternative(&mut self) -> Option<()> {
        loop {
            match self.peek() {
                None | Some(b'|') => return Some(()),
                Some(b')') if self.depth > 0 => return Some(()),
                Some(b')') => return None,
                Some(_) => self.term()?,
            }
        }
    }

    fn term(&mut self) -> Option<()> {
        let c = self.peek()?;
        match c {
            b'^' | b'$' => {
                self.pos += 1;
                self.out.push_str(if c == b'^' { "\\A" } else { "\\z" });
                // An assertion cannot be repeated.
                if matches!(self.peek(), Some(b'*' | b'+' | b'?' | b'{')) {
                    return None;
                }
                return Some(());
            }
            b'*' | b'+' | b'?' | b'{' => return None,
            _ => {}
        }
        let mut atom = self.atom()?;
        while let Some(quant) = self.quantifier()? {
            atom = format!("(?:{atom}){quant}");
        }
        self.out.push_str(&atom);
        Some(())
    }

    /// One atom, returned as translated text so quantifiers can wrap it.
    fn atom(&mut self) -> Option<String> {
        let c = self.peek()?;
        self.pos += 1;
        match c {
            b'.' => Some(String::from("(?s-u:.)")),
            b'(' => {
                let saved = std::mem::replace(&mut self.out, String::from("("));
                self.depth += 1;
                self.disjunction()?;
                self.depth -= 1;
                if self.peek() != Some(b')') {
                    return None;
                }
                self.pos += 1;
                self.out.push(')');
                Some(std::mem::replace(&mut self.out, saved))
            }
            b'[' => self.bracket(),
            b'\\' => {
                let escaped = self.peek()?;
                if !ESCAPABLE.contains(&escaped) {
                    return None;
                }
                self.pos += 1;
                Some(byte_literal(escaped))
            }
            _ => Some(byte_literal(c)),
        }
    }

    /// A quantifier after an atom: `Ok(None)` when there is none, `None` when it is malformed.
    fn quantifier(&mut self) -> Option<Option<String>> {
        let quant = match self.peek() {
            Some(b'*') => "*".to_owned(),
            Some(b'+') => "+".to_owned(),
            Some(b'?') => "?".to_owned(),
            Some(b'{') => {
                self.pos += 1;
                let min = self.number()?;
                let quant = match self.peek() {
                    Some(b'}') => format!("{{{min}}}"),
                    Some(b',') => {
                        self.pos += 1;
                        if self.peek() == Some(b'}') {
                            format!("{{{min},}}")
                        } else {
                            let max = self.number()?;
                            if max < min || self.peek() != Some(b'}') {
                                return None;
                            }
                            format!("{{{min},{max}}}")
                        }
                    }
                    _ => return None,
                };
                // The closing brace; `pos` still points at it.
                self.pos += 1;
                return Some(Some(quant));
            }
            _ => return Some(None),
        };
        self.pos += 1;
        Some(Some(quant))
    }

    fn number(&mut self) -> Option<u32> {
        let start = self.pos;
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.pos += 1;
        }
        let digits = std::str::from_utf8(&self.pat[start..self.pos]).ok()?;
        digits.parse().ok()
    }

    /// A bracket expression after its `[`.
    fn bracket(&mut self) -> Option<String> {
        let negated = self.peek() == Some(b'^');
        if negated {
            self.pos += 1;
        }
        let mut set = [false; 256];
        let mut at_start = true;
        // The last single character seen, which a following `-` turns into a range start.
        let mut last_char: Option<u8> = None;
        // Whether the previous item ended a range or was a class, after which `-x` is invalid.
        let mut last_was_range_or_class = false;
        loop {
            let c = self.peek()?;
            if c == b']' && !at_start {
                self.pos += 1;
                break;
            }
            at_start = false;
            if c == b'-' {
                self.pos += 1;
                let next = self.peek()?;
                if next == b']' {
                    // A trailing `-` is literal.
                    set[usize::from(b'-')] = true;
                    last_char = Some(b'-');
                    continue;
                }
                match last_char {
                    Some(lo) if !last_was_range_or_class => {
                        let hi = self.bracket_char()?;
                        if hi < lo {
                            return None;
                        }
                        for b in lo..=hi {
                            set[usize::from(b)] = true;
                        }
                        last_char = None;
                        last_was_range_or_class = true;
                    }
                    None if !last_was_range_or_class => {
                        // A leading `-` is literal.
                        set[usize::from(b'-')] = true;
                        last_char = Some(b'-');
                    }
                    _ => return None,
                }
                continue;
            }
            if c == b'[' && self.pat.get(self.pos + 1) == Some(&b':') {
                self.pos += 2;
                let name = self.until_close(b':')?;
                let class = char_class(&name.to_ascii_lowercase())?;
                for b in 0..=255u8 {
                    if class(b) {
                        set[usize::from(b)] = true;
                    }
                }
                last_char = None;
                last_was_range_or_class = true;
                continue;
            }
            let ch = self.bracket_char()?;
            set[usize::from(ch)] = true;
            last_char = Some(ch);
            last_was_range_or_class = false;
        }
        let mut out = String::from(if negated { "[^" } else { "[" });
        let mut b = 0usize;
        while b < 256 {
            if set[b] {
                let start = b;
                while b + 1 < 256 && set[b + 1] {
                    b += 1;
                }
                let _ = write!(out, "\\x{start:02X}");
                if b > start {
                    let _ = write!(out, "-\\x{b:02X}");
                }
            }
            b += 1;
        }
        if !set.iter().any(|&x| x) {
            return None;
        }
        out.push(']');
        Some(out)
    }

    /// One character of a bracket: a plain byte, or `[.c.]` / `[=c=]` naming one character.
    fn bracket_char(&mut self) -> Option<u8> {
        let c = self.peek()?;
        if c == b'[' {
            if let Some(&kind @ (b'.' | b'=')) = self.pat.get(self.pos + 1) {
                self.pos += 2;
                let name = self.until_close(kind)?;
                return match name.as_slice() {
                    [single] => Some(*single),
                    _ => None,
                };
            }
        }
        self.pos += 1;
        Some(c)
    }

    /// The bytes up to `kind` followed by `]`, consuming both.
    fn until_close(&mut self, kind: u8) -> Option<Vec<u8>> {
        let start = self.pos;
        while self.pos + 1 < self.pat.len() {
            if self.pat[self.pos] == kind && self.pat[self.pos + 1] == b']' {
                let name = self.pat[start..self.pos].to_vec();
                self.pos += 2;
                return Some(name);
            }
            self.pos += 1;
        }
        None
    }
}

fn byte_literal(b: u8) -> String {
    format!("\\x{b:02X}")
}

/// The C-locale character classes libstdc++ knows, including its `w`, `d` and `s` shorthands.
fn char_class(name: &[u8]) -> Option<fn(u8) -> bool> {
    let class: fn(u8) -> bool = match name {
        b"alnum" => |b| b.is_ascii_alphanumeric(),
        b"alpha" => |b| b.is_ascii_alphabetic(),
        b"blank" => |b| b == b' ' || b == b'\t',
        b"cntrl" => |b| b.is_ascii_control(),
        b"digit" | b"d" => |b| b.is_ascii_digit(),
        b"graph" => |b| b.is_ascii_graphic(),
        b"lower" => |b| b.is_ascii_lowercase(),
        b"print" => |b| b.is_ascii_graphic() || b == b' ',
        b"punct" => |b| b.is_ascii_punctuation(),
        b"space" | b"s" => |b| matches!(b, b' ' | b'\t' | b'\n' | b'\x0B' | b'\x0C' | b'\r'),
        b"upper" => |b| b.is_ascii_uppercase(),
        b"xdigit" => |b| b.is_ascii_hexdigit(),
        b"w" => |b| b.is_ascii_alphanumeric() || b == b'_',
        _ => return None,
    };
    Some(class)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(re: &str, s: &str) -> Option<Vec<Option<String>>> {
        let re = PosixRegex::new(re).unwrap();
        re.full_match(s.as_bytes()).map(|groups| {
            groups[1..]
                .iter()
                .map(|g| g.clone().map(|r| s[r].to_owned()))
                .collect()
        })
    }

    fn split(re: &str, s: &str) -> String {
        let re = PosixRegex::new(re).unwrap();
        let mut out = String::new();
        let mut pos = 0;
        for groups in re.find_all(s.as_bytes()) {
            let whole = groups[0].clone().unwrap();
            let _ = write!(out, "{:?} ", &s[pos..whole.start]);
            let caps: Vec<_> = groups[1..]
                .iter()
                .map(|g| g.clone().map(|r| &s[r]))
                .collect();
            let _ = write!(out, "{caps:?} ");
            pos = whole.end;
        }
        let _ = write!(out, "{:?}", &s[pos..]);
        out
    }

    fn invalid(re: &str) -> bool {
        PosixRegex::new(re).is_err()
    }

    #[test]
    fn errors_match_libstdcxx() {
        for re in [
            "\\d",
            "\\1",
            "(a)\\1",
            "a{,3}",
            "(",
            "*a",
            "\\w",
            "[[:foo:]]",
            "a{3,2}",
            "a{1",
            "[z-a]",
            "\\}",
            "\\]",
            "\\/",
            "\\n",
            "{a",
            "a{,}",
            "a|*b",
            "(*a)",
            "^*",
            "[a",
            "[]",
            "[^]",
            "[a-c-e]",
            "[[:alpha:]-z]",
            "[[:alpha:]",
            "\\-",
            "a{ 1}",
            "\\",
            ")",
        ] {
            assert!(invalid(re), "{re} should be invalid");
        }
    }

    #[test]
    fn valid_patterns() {
        for re in [
            "a{2}",
            "[]a]*",
            "[^]a]*",
            "[\\]]",
            "[a-]*",
            "a**",
            "a+?",
            "\\.",
            "()",
            "a|",
            "|a",
            "a}",
            "]",
            "[[.a.]]",
            "[[=a=]]",
            "[-a]",
            "[%--]",
            "[[]",
            "[a[]",
            "a{2}{3}",
            "a?*",
            "\\(",
            "\\$",
            "\\^",
            "\\{",
            "[\\n]",
            "[[:ALPHA:]]",
            "[[:w:]]",
        ] {
            assert!(!invalid(re), "{re} should be valid");
        }
    }

    #[test]
    fn full_matches() {
        let some = |v: &[Option<&str>]| Some(v.iter().map(|x| x.map(str::to_owned)).collect());
        assert_eq!(m("[]a]*", "]a]"), some(&[]));
        assert_eq!(m("[\\]]", "\\]"), some(&[]));
        assert_eq!(
            m("[[:alpha:]]+([[:digit:]]*)", "abc123"),
            some(&[Some("123")])
        );
        assert_eq!(
            m("(a|ab)(c|bcd)(d*)", "abcd"),
            some(&[Some("a"), Some("bcd"), Some("")])
        );
        assert_eq!(m("(a|b)*", "ab"), some(&[Some("b")]));
        assert_eq!(m(".*", "a\nb"), some(&[]));
        assert_eq!(m("a$b", "ab"), None);
        assert_eq!(m("x(a)?", "x"), some(&[None]));
        assert_eq!(m("(a)|(b)", "b"), some(&[None, Some("b")]));
        assert_eq!(m(".", "é"), None);
        assert_eq!(m("é.", "éx"), some(&[]));
        assert_eq!(m("[A-Z]", "a"), None);
        assert_eq!(m("a{1000}", ""), None);
        assert_eq!(m("a+?", "aa"), some(&[]));
        assert_eq!(m("[.]", "a"), None);
    }

    #[test]
    fn splits() {
        assert_eq!(split("(a)|b", "xaybz"), r#""x" [Some("a")] "y" [None] "z""#);
        assert_eq!(split("(a|ab)", "xabc"), r#""x" [Some("ab")] "c""#);
        assert_eq!(split("a*", "baaa"), r#""" [] "b" [] "" [] """#);
        assert_eq!(split("", "ab"), r#""" [] "a" [] "b" [] """#);
        assert_eq!(
            split("(a)?", "xa"),
            r#""" [None] "x" [Some("a")] "" [None] """#
        );
        assert_eq!(split("^a", "aaa"), r#""" [] "aa""#);
        assert_eq!(split("a$", "aaa"), r#""aa" [] """#);
    }
}
