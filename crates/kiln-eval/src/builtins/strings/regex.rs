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
//! - A loop whose body can match the empty string runs once more where it stops, and its groups
//!   report that empty iteration (`match "(x*)+" "x"` is `[ "" ]`); see [`Parser::term`].
//!
//! Known gap: libstdc++'s search is not truly longest (a greedy loop that found some match stops
//! trying shorter iterations), so in contrived patterns `split` can pick a different match.
//! In random differential testing against nix-instantiate (4000 generated patterns on ASCII
//! subjects), every `match` agreed and about 0.15% of `split`s differed this way.
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

use crate::NixString;

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
    /// Captures for `exact`, reused by `full_match`.
    exact_caps: RefCell<Captures>,
    /// For each capture group of the translation (index 0 is the whole match), the group of
    /// the pattern it stands for.
    group_origin: Vec<usize>,
    /// The number of capture groups of the pattern, not counting the whole match.
    n_groups: usize,
    /// Whether the pattern has `|` or a quantifier; without them every match from a given
    /// start has the same length, and the leftmost-first match is also the longest.
    has_choice: bool,
    /// The pattern's shape when it is a literal, possibly between `.*`s.
    literal: Option<Literal>,
}

/// Patterns that a string comparison decides (`.` matches any byte, so `.*` anything).
enum Literal {
    Whole(String),
    Prefix(String),
    Suffix(String),
    Infix(String),
}

impl Literal {
    /// The shape of `pattern`, if it is one of those, with no character that is special in an
    /// ERE in the literal part.
    fn of(pattern: &str) -> Option<Literal> {
        let (lead, rest) = match pattern.strip_prefix(".*") {
            Some(rest) => (true, rest),
            None => (false, pattern),
        };
        let (trail, lit) = match rest.strip_suffix(".*") {
            Some(lit) => (true, lit),
            None => (false, rest),
        };
        if lit.bytes().any(|c| b"\\.[]{}()*+?^$|".contains(&c)) {
            return None;
        }
        let lit = lit.to_owned();
        Some(match (lead, trail) {
            (false, false) => Literal::Whole(lit),
            (false, true) => Literal::Prefix(lit),
            (true, false) => Literal::Suffix(lit),
            (true, true) => Literal::Infix(lit),
        })
    }
}

impl PosixRegex {
    /// Parses and compiles `pattern`.
    pub(crate) fn new(pattern: &str) -> Result<PosixRegex, RegexError> {
        let err = || RegexError {
            pattern: pattern.to_owned(),
        };
        let (translated, has_choice) = translate(pattern.as_bytes()).ok_or_else(err)?;
        let syntax = syntax::Config::new()
            .unicode(false)
            .utf8(false)
            .nest_limit(4 * MAX_NESTING as u32);
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
            .thompson(
                // Not UTF-8 mode: Nix matches bytes, so a match may end inside a character.
                regex_automata::nfa::thompson::Config::new()
                    .utf8(false)
                    .nfa_size_limit(Some(64 << 20)),
            )
            .build(&translated)
            .map_err(|_| err())?;
        let longest_cache = RefCell::new(longest.create_cache());
        // Group names are `g<original>_<copy>`; `search` and `exact` number them alike.
        let group_origin: Vec<usize> = (0..search.captures_len())
            .map(|idx| {
                search
                    .group_info()
                    .to_name(regex_automata::PatternID::ZERO, idx)
                    .and_then(|name| name.strip_prefix('g')?.split('_').next()?.parse().ok())
                    .unwrap_or(0)
            })
            .collect();
        let n_groups = group_origin.iter().copied().max().unwrap_or(0);
        let exact_caps = RefCell::new(exact.create_captures());
        let literal = Literal::of(pattern);
        Ok(PosixRegex {
            search,
            exact,
            exact_caps,
            longest,
            longest_cache,
            group_origin,
            n_groups,
            has_choice,
            literal,
        })
    }

    /// The pattern's groups from the translation's: of the copies of a group that matched, the
    /// one that ended last (and, on a tie, came last in the pattern) is the latest iteration.
    fn groups_of(&self, caps: &Captures) -> Groups {
        let mut res: Groups = vec![None; self.n_groups + 1];
        res[0] = caps.get_group(0).map(|span| span.range());
        let mut best: Vec<Option<(usize, usize)>> = vec![None; self.n_groups + 1];
        for (idx, &origin) in self.group_origin.iter().enumerate().skip(1) {
            // Every group of the translation is named, so `origin` is at least 1.
            if origin == 0 {
                continue;
            }
            if let Some(span) = caps.get_group(idx) {
                if best[origin].is_none_or(|b| (span.end, idx) >= b) {
                    best[origin] = Some((span.end, idx));
                    res[origin] = Some(span.range());
                }
            }
        }
        res
    }

    /// The number of capture groups of the pattern (not counting the whole match).
    pub(crate) fn n_groups(&self) -> usize {
        self.n_groups
    }

    /// Whether a match covers all of `hay`: `builtins.match` of a pattern without groups, which
    /// needs no captures, so the fastest engine (a lazy DFA) answers it, or a string comparison
    /// for the shapes `lit`, `lit.*`, `.*lit` and `.*lit.*`.
    pub(crate) fn is_full_match(&self, hay: &str) -> bool {
        match &self.literal {
            Some(Literal::Whole(lit)) => hay == lit,
            Some(Literal::Prefix(lit)) => hay.starts_with(lit.as_str()),
            Some(Literal::Suffix(lit)) => hay.ends_with(lit.as_str()),
            Some(Literal::Infix(lit)) => hay.contains(lit.as_str()),
            None => self
                .exact
                .is_match(Input::new(hay.as_bytes()).anchored(Anchored::Yes)),
        }
    }

    /// `builtins.match`: the groups of a match covering all of `hay`, or `None`.
    pub(crate) fn full_match(&self, hay: &[u8]) -> Option<Groups> {
        let input = Input::new(hay).anchored(Anchored::Yes);
        // The captures are reused from one call to the next (allocating them was a fifth of a
        // `match` on a short string); a nested call, which cannot happen, would allocate anew.
        let mut cached = self.exact_caps.try_borrow_mut().ok();
        let mut fresh;
        let caps = match cached.as_deref_mut() {
            Some(caps) => caps,
            None => {
                fresh = self.exact.create_captures();
                &mut fresh
            }
        };
        self.exact.search_captures(&input, caps);
        caps.is_match().then(|| self.groups_of(caps))
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
        let end = if self.has_choice {
            self.longest_end(hay, first.start()).unwrap_or(first.end())
        } else {
            first.end()
        };
        if end == first.end() {
            return Some(self.groups_of(&caps));
        }
        // A longer match than the leftmost-first one exists: take the captures of the first path
        // that ends exactly there.
        let input = Input::new(&hay[..end])
            .range(first.start()..end)
            .anchored(Anchored::Yes);
        let mut exact_caps = self.exact.create_captures();
        self.exact.search_captures(&input, &mut exact_caps);
        if exact_caps.is_match() {
            Some(self.groups_of(&exact_caps))
        } else {
            Some(self.groups_of(&caps))
        }
    }

    fn longest_end(&self, hay: &[u8], start: usize) -> Option<usize> {
        let input = Input::new(hay).range(start..).anchored(Anchored::Yes);
        let mut cache = self.longest_cache.try_borrow_mut().ok()?;
        let half = self.longest.try_search_fwd(&mut cache, &input).ok()??;
        Some(half.offset())
    }
}

thread_local! {
    static CACHE: RefCell<HashMap<String, Rc<PosixRegex>>> = RefCell::new(HashMap::new());
    /// The patterns used last, by the identity of their string: a pattern written in the
    /// source is one string however often it is used, so a pointer comparison finds it without
    /// hashing its text.
    static RECENT: RefCell<[Option<Recent>; RECENT_LEN]> =
        const { RefCell::new([const { None }; RECENT_LEN]) };
}

/// A pattern string and its compilation.
type Recent = (NixString, Rc<PosixRegex>);

const RECENT_LEN: usize = 4;

/// Compiles `pattern`, reusing an earlier compilation of the same pattern on this thread.
pub(crate) fn compile_cached(pattern: &NixString) -> Result<Rc<PosixRegex>, RegexError> {
    let recent = RECENT.with(|recent| {
        let recent = recent.borrow();
        recent
            .iter()
            .flatten()
            .find_map(|(text, re)| NixString::ptr_eq(text, pattern).then(|| Rc::clone(re)))
    });
    if let Some(hit) = recent {
        return Ok(hit);
    }
    let text = pattern.as_str();
    let compiled = match CACHE.with(|cache| cache.borrow().get(text).cloned()) {
        Some(hit) => hit,
        None => {
            let compiled = Rc::new(PosixRegex::new(text)?);
            CACHE.with(|cache| {
                let mut cache = cache.borrow_mut();
                // Patterns built from data could grow the cache without bound; start again instead.
                if cache.len() >= 4096 {
                    cache.clear();
                }
                cache.insert(text.to_owned(), Rc::clone(&compiled));
            });
            compiled
        }
    };
    RECENT.with(|recent| {
        let mut recent = recent.borrow_mut();
        recent.rotate_right(1);
        recent[0] = Some((pattern.clone(), Rc::clone(&compiled)));
    });
    Ok(compiled)
}

/// Translates libstdc++'s ERE dialect into `regex-syntax` in byte mode; `None` if it is invalid.
///
/// Capture groups are emitted as named groups `g<original index>_<copy>`, because one group of
/// the pattern can appear several times in the translation (see [`Parser::term`]).
fn translate(pattern: &[u8]) -> Option<(String, bool)> {
    let mut parser = Parser {
        pat: pattern,
        pos: 0,
        out: String::from("(?s-u)"),
        out_empty: String::new(),
        depth: 0,
        n_groups: 0,
        n_copies: 0,
        has_choice: false,
    };
    parser.disjunction()?;
    if parser.pos != pattern.len() {
        return None;
    }
    Some((parser.out, parser.has_choice))
}

struct Parser<'a> {
    pat: &'a [u8],
    pos: usize,
    out: String,
    /// The same translation restricted to empty matches (every byte-consuming atom replaced by
    /// one that never matches), for the extra loop iteration of [`Parser::term`].
    out_empty: String,
    depth: usize,
    /// Capture groups seen so far, numbered as Nix numbers them.
    n_groups: usize,
    /// Copies of groups made so far; each copy gets a unique name.
    n_copies: usize,
    /// Whether an alternation or a quantifier was seen.
    has_choice: bool,
}

/// A translated atom, with what a quantifier needs to know about it.
struct Atom {
    text: String,
    /// `text` restricted to empty matches, with the same groups.
    empty_text: String,
    /// Whether it can match the empty string.
    nullable: bool,
    /// Whether it contains a capture group.
    has_groups: bool,
}

/// A byte class that matches nothing.
const NEVER: &str = "[^\\x00-\\xFF]";

/// How deeply groups may nest; deeper patterns are rejected rather than overflowing the stack.
const MAX_NESTING: usize = 256;

/// How many quantifiers may follow one atom (`a**` is valid, but nobody writes fifty).
const MAX_STACKED_QUANTIFIERS: usize = 32;

/// The characters that may follow a backslash outside brackets (libstdc++ `_M_extended_spec_char`).
const ESCAPABLE: &[u8] = b".[\\()*+?{|^$";

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.pat.get(self.pos).copied()
    }

    /// Alternatives separated by `|`; returns whether it can match the empty string.
    fn disjunction(&mut self) -> Option<bool> {
        let mut nullable = self.alternative()?;
        while self.peek() == Some(b'|') {
            self.pos += 1;
            self.out.push('|');
            self.out_empty.push('|');
            self.has_choice = true;
            nullable |= self.alternative()?;
        }
        Some(nullable)
    }

    fn alternative(&mut self) -> Option<bool> {
        let mut nullable = true;
        loop {
            match self.peek() {
                None | Some(b'|') => return Some(nullable),
                Some(b')') if self.depth > 0 => return Some(nullable),
                Some(b')') => return None,
                Some(_) => nullable &= self.term()?,
            }
        }
    }

    /// An assertion, or an atom with its quantifiers.
    ///
    /// libstdc++'s backtracking matcher lets a loop (`*`, `+`, `{n,}`) run its body once more
    /// at the position where it would stop, when the body can match the empty string there;
    /// the groups inside then report that last, empty iteration (`match "(x*)+" "x"` gives
    /// `[ "" ]`). We reproduce this by following such a loop with an optional copy of its body
    /// whose groups stand for the same groups of the pattern.
    fn term(&mut self) -> Option<bool> {
        let c = self.peek()?;
        match c {
            b'^' | b'$' => {
                self.pos += 1;
                let assertion = if c == b'^' { "\\A" } else { "\\z" };
                self.out.push_str(assertion);
                self.out_empty.push_str(assertion);
                // An assertion cannot be repeated.
                if matches!(self.peek(), Some(b'*' | b'+' | b'?' | b'{')) {
                    return None;
                }
                return Some(true);
            }
            b'*' | b'+' | b'?' | b'{' => return None,
            _ => {}
        }
        let mut atom = self.atom()?;
        let mut n_quantifiers = 0;
        while let Some(quant) = self.quantifier()? {
            // Each quantifier wraps the atom once more; bound the nesting (and the text).
            n_quantifiers += 1;
            if n_quantifiers > MAX_STACKED_QUANTIFIERS {
                return None;
            }
            self.has_choice = true;
            let is_loop = quant == "*" || quant == "+" || quant.ends_with(",}");
            let mut text = format!("(?:{}){quant}", atom.text);
            let mut empty_text = format!("(?:{}){quant}", atom.empty_text);
            if is_loop && atom.nullable && atom.has_groups {
                // The extra iteration may only match empty: a non-empty one would be a
                // regular iteration with a different priority.
                let copy = self.copy_groups(&atom.empty_text);
                text = format!("(?:{text}(?:{copy})?)");
                let copy = self.copy_groups(&atom.empty_text);
                empty_text = format!("(?:{empty_text}(?:{copy})?)");
            }
            let nullable = atom.nullable || quant == "*" || quant == "?" || quant.starts_with("{0");
            atom = Atom {
                text,
                empty_text,
                nullable,
                has_groups: atom.has_groups,
            };
        }
        self.out.push_str(&atom.text);
        self.out_empty.push_str(&atom.empty_text);
        Some(atom.nullable)
    }

    /// `text` with every group renamed to a fresh copy of the same pattern group.
    fn copy_groups(&mut self, text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(at) = rest.find("(?P<g") {
            out.push_str(&rest[..at + 5]);
            rest = &rest[at + 5..];
            let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
            let (group, after) = rest.split_at(digits);
            let close = after.find('>').unwrap_or(0);
            self.n_copies += 1;
            let _ = write!(out, "{group}_{}", self.n_copies);
            rest = &after[close..];
        }
        out.push_str(rest);
        out
    }

    /// One atom, returned as translated text so quantifiers can wrap it.
    fn atom(&mut self) -> Option<Atom> {
        let c = self.peek()?;
        self.pos += 1;
        let plain = |text: String| Atom {
            text,
            empty_text: String::from(NEVER),
            nullable: false,
            has_groups: false,
        };
        match c {
            b'.' => Some(plain(String::from("(?s-u:.)"))),
            b'(' => {
                if self.depth >= MAX_NESTING {
                    return None;
                }
                self.n_groups += 1;
                self.n_copies += 1;
                let open = format!("(?P<g{}_{}>", self.n_groups, self.n_copies);
                let saved = std::mem::replace(&mut self.out, open.clone());
                let saved_empty = std::mem::replace(&mut self.out_empty, open);
                self.depth += 1;
                let nullable = stacker::maybe_grow(64 * 1024, 1024 * 1024, || self.disjunction())?;
                self.depth -= 1;
                if self.peek() != Some(b')') {
                    return None;
                }
                self.pos += 1;
                self.out.push(')');
                self.out_empty.push(')');
                let text = std::mem::replace(&mut self.out, saved);
                let empty_text = std::mem::replace(&mut self.out_empty, saved_empty);
                Some(Atom {
                    text,
                    empty_text,
                    nullable,
                    has_groups: true,
                })
            }
            b'[' => self.bracket().map(plain),
            b'\\' => {
                let escaped = self.peek()?;
                if !ESCAPABLE.contains(&escaped) {
                    return None;
                }
                self.pos += 1;
                Some(plain(byte_literal(escaped)))
            }
            _ => Some(plain(byte_literal(c))),
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

    /// The string comparisons for literal shapes agree with the automaton.
    #[test]
    fn literal_shapes_agree_with_the_automaton() {
        let patterns = [
            "item-1.*", ".*-linux", ".*foo.*", "abc", "", ".*", ".*.*", "é.*", ".*x", "a b",
        ];
        let subjects = [
            "",
            "item-1",
            "item-12",
            "item-2",
            "x86_64-linux",
            "linux",
            "afoob",
            "foo",
            "abc",
            "abcd",
            "é",
            "éa",
            "a\nx",
            "x\n",
            "a b",
            "\n",
        ];
        for pattern in patterns {
            let re = PosixRegex::new(pattern).unwrap();
            assert!(re.literal.is_some(), "{pattern}");
            for subject in subjects {
                let automaton = re
                    .exact
                    .is_match(Input::new(subject.as_bytes()).anchored(Anchored::Yes));
                assert_eq!(
                    re.is_full_match(subject),
                    automaton,
                    "{pattern} on {subject:?}"
                );
            }
        }
        for pattern in [
            "a.c", "a*", "(a)", "a|b", "\\.", "[a]", "^a", "a$", "a+", "a?", "a{2}",
        ] {
            assert!(
                PosixRegex::new(pattern).unwrap().literal.is_none(),
                "{pattern}"
            );
        }
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
    fn deep_nesting_is_an_error_not_a_crash() {
        let deep = format!("{}a{}", "(".repeat(256), ")".repeat(256));
        assert!(!invalid(&deep));
        assert!(invalid(&"(".repeat(100_000)));
        let too_deep = format!("{}a{}", "(".repeat(257), ")".repeat(257));
        assert!(invalid(&too_deep));
        assert!(!invalid(&format!("a{}", "*".repeat(32))));
        assert!(invalid(&format!("a{}", "*".repeat(100_000))));
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
        // A loop whose body can match empty runs once more, and its groups report that.
        assert_eq!(m("(x*)+", "x"), some(&[Some("")]));
        assert_eq!(m("(a*)*", "aa"), some(&[Some("")]));
        assert_eq!(m("(a|)*", "aa"), some(&[Some("")]));
        assert_eq!(m("[]a](\\.*|[a-c]|a+|b)+\\.", "ab..a."), some(&[Some("")]));
        assert_eq!(m("(a|b)*c", "abc"), some(&[Some("b")]));
        assert_eq!(m("((a)|b)+", "ab"), some(&[Some("b"), Some("a")]));
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
