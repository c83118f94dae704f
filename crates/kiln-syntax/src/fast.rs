//! The fast parser: a hand-written, scannerless recursive-descent parser that builds the same
//! [`ast::Expr`](crate::ast::Expr) as `grammar/kiln.pest` + `lower.rs`, for the text that
//! grammar accepts, in one pass and without pest.
//!
//! The pest grammar stays the reference. This parser mirrors it rule for rule: each function
//! below is named after the rule it stands for, makes the same ordered choices (decided by a
//! little lookahead instead of backtracking), and skips whitespace exactly where pest's implicit
//! `WHITESPACE` runs, so that every span, including the trailing whitespace pest leaves in
//! some rules (`a ~ b*` keeps the skip before an empty `b*`), is the same.
//!
//! The invariant (tested in `tests/corpus/fast_parser.rs`): **when this parser
//! accepts a text, pest accepts it too and lowering gives an identical AST.** Anything else is
//! [`Reject`]ed: not only syntax errors, but every parse-time error of `lower.rs` (duplicate
//! attributes, invalid numbers, nesting past [`MAX_DEPTH`], ...) and any construct this parser
//! is unsure about. A rejected text goes to pest, which produces the diagnostic. So wherever a
//! choice here commits early, a wrong guess can only cost a fallback, never a different AST;
//! the one thing that must be exact is where a loop *stops* or an alternative is skipped.
//!
//! Depth is counted as `lower.rs` counts it, and recursion grows the stack with `stacker`, so
//! no dedicated thread is needed.

use crate::ast::{AttrName, Expr, ExprKind, Formal, Formals, Lambda};
use crate::desugar::{self, AttrsBuilder, PathElem};
use crate::grammar::Rule;
use crate::lower::{self, Assoc, Names, MAX_DEPTH, PREC_HAS_ATTR, PREC_NEG, PREC_NOT};
use crate::span::{FileId, Span};
use std::cell::Cell;
use std::sync::Arc;

mod literals;
mod scan;

use scan::{is_alpha, is_path_char, Kw};

/// The fast parser does not handle this text; pest decides.
#[derive(Debug)]
pub(crate) struct Reject;

type R<T> = Result<T, Reject>;

/// Stack head room before a recursive step, and the size of each new stack segment.
const RED_ZONE: usize = 128 * 1024;
const STACK_SEGMENT: usize = 4 * 1024 * 1024;

/// Parses a whole file, or rejects it. `text` must contain no NUL byte (`parse_with` checks),
/// because a 0 byte stands for the end of the input here.
pub(crate) fn parse(text: &str, file: FileId, base_dir: &str, home: &str) -> R<Expr> {
    let mut parser = Parser {
        src: text,
        b: text.as_bytes(),
        pos: 0,
        file,
        base_dir,
        home,
        depth: 0,
        names: Names::default(),
        last_word: Cell::new((usize::MAX, Word::Other)),
    };
    parser.skip();
    let expr = parser.expr()?;
    parser.skip();
    if parser.pos != parser.b.len() {
        return Err(Reject);
    }
    Ok(expr)
}

struct Parser<'a> {
    src: &'a str,
    b: &'a [u8],
    pos: usize,
    file: FileId,
    base_dir: &'a str,
    home: &'a str,
    /// `lower.rs`'s depth: +1 for every node but `expr_op`, `app` and `select`.
    depth: usize,
    names: Names<'a>,
    /// The last [`Parser::word`] answer: the same word is classified several times (as an
    /// expression start, a `simple`, a possible `or`).
    last_word: Cell<(usize, Word)>,
}

/// A word starting with a letter or `_`, classified as pest's word rules see it.
#[derive(Clone, Copy)]
enum Word {
    /// An `identifier` ending at the offset.
    Ident(usize),
    /// A keyword (`kw_*` matches) ending at the offset.
    Keyword(Kw, usize),
    /// The start of a path or URI: neither identifier nor keyword matches.
    Other,
}

/// What `simple` matches at a position (decided before parsing it).
enum Simple {
    Var(usize),
    Str,
    Attrs,
    List,
    Paren,
    Float(usize),
    Int(usize),
    Path,
    IndStr,
    Spath(usize),
    Rec(usize),
    LegacyLet(usize),
    Uri(usize),
}

/// One element of `expr_op`'s flat operator sequence.
enum Item {
    Prefix(Rule, Span),
    Operand(Expr),
    Infix(Rule, Span),
    HasAttr(Vec<AttrName>, Span),
    Taken,
}

impl<'a> Parser<'a> {
    // -----------------------------------------------------------------------------------------
    // Depth.

    /// A node `lower.rs` counts: one level deeper, on a stack that grows as needed.
    fn nest<T>(&mut self, f: impl FnOnce(&mut Self) -> R<T>) -> R<T> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(Reject);
        }
        let res = stacker::maybe_grow(RED_ZONE, STACK_SEGMENT, || f(self));
        self.depth -= 1;
        res
    }

    // -----------------------------------------------------------------------------------------
    // Expressions.

    /// `expr`: lambda, assert, with, let, if, or `expr_op`.
    fn expr(&mut self) -> R<Expr> {
        let p = self.pos;
        let c = self.at(p);
        if c == b'{' {
            if self.brace_starts_lambda(p) {
                return self.nest(Self::lambda);
            }
        } else if is_alpha(c) || c == b'_' {
            match self.word(p) {
                Word::Ident(end) => {
                    if matches!(self.at(self.skip_from(end)), b':' | b'@') {
                        return self.nest(Self::lambda);
                    }
                }
                Word::Keyword(Kw::Assert, end) => return self.nest(|s| s.assert_with(end, true)),
                Word::Keyword(Kw::With, end) => return self.nest(|s| s.assert_with(end, false)),
                Word::Keyword(Kw::If, end) => return self.nest(|s| s.if_expr(end)),
                Word::Keyword(Kw::Let, end) if self.at(self.skip_from(end)) != b'{' => {
                    return self.nest(|s| s.let_expr(end));
                }
                _ => {}
            }
        }
        self.expr_op()
    }

    /// At `{` where an expression starts: whether pest's `lambda` (formals) is the parse.
    /// `false` only where `formals` must fail, so that `attrs` is what pest picks too.
    fn brace_starts_lambda(&self, p: usize) -> bool {
        let q = self.skip_from(p + 1);
        match self.at(q) {
            b'}' => matches!(self.at(self.skip_from(q + 1)), b':' | b'@'),
            b'.' => self.starts(q, "..."),
            _ => match self.word(q) {
                Word::Ident(end) => matches!(self.at(self.skip_from(end)), b',' | b'?' | b'}'),
                _ => false,
            },
        }
    }

    fn identifier(&mut self) -> R<(&'a str, Span)> {
        match self.word(self.pos) {
            Word::Ident(end) => {
                let start = self.pos;
                self.pos = end;
                Ok((&self.src[start..end], self.span(start, end)))
            }
            _ => Err(Reject),
        }
    }

    /// `lambda = { (identifier "@" formals | formals ("@" identifier)? | identifier) ":" expr }`
    fn lambda(&mut self) -> R<Expr> {
        let start = self.pos;
        let mut arg = None;
        let formals;
        if self.at(self.pos) == b'{' {
            formals = Some(self.formals()?);
            self.skip();
            if self.at(self.pos) == b'@' {
                self.pos += 1;
                self.skip();
                arg = Some(self.identifier()?.0);
            }
        } else {
            arg = Some(self.identifier()?.0);
            self.skip();
            if self.at(self.pos) == b'@' {
                self.pos += 1;
                self.skip();
                if self.at(self.pos) != b'{' {
                    return Err(Reject);
                }
                formals = Some(self.formals()?);
            } else {
                formals = None;
            }
        }
        self.skip();
        self.expect(b':')?;
        self.skip();
        let body = self.expr()?;
        if let (Some(arg), Some(formals)) = (arg, &formals) {
            if formals.entries.iter().any(|formal| &*formal.name == arg) {
                return Err(Reject);
            }
        }
        let lambda = Lambda {
            arg: arg.map(|arg| self.names.get(arg)),
            formals,
            body,
        };
        Ok(Expr {
            span: self.span(start, self.pos),
            kind: ExprKind::Lambda(Box::new(lambda)),
        })
    }

    /// `formals = { "{" (formal ("," formal)* ("," ellipsis?)? | ellipsis)? "}" }`
    fn formals(&mut self) -> R<Formals> {
        self.expect(b'{')?;
        self.skip();
        let mut entries: Vec<Formal> = Vec::new();
        let mut ellipsis = false;
        if let Word::Ident(_) = self.word(self.pos) {
            self.formal(&mut entries)?;
            self.skip();
            loop {
                let save = self.pos;
                self.skip();
                if self.at(self.pos) == b',' {
                    let q = self.skip_from(self.pos + 1);
                    if let Word::Ident(_) = self.word(q) {
                        self.pos = q;
                        self.formal(&mut entries)?;
                        continue;
                    }
                }
                self.pos = save;
                break;
            }
            self.skip();
            if self.at(self.pos) == b',' {
                self.pos += 1;
                self.skip();
                if self.starts(self.pos, "...") {
                    self.pos += 3;
                    ellipsis = true;
                }
            }
        } else if self.starts(self.pos, "...") {
            self.pos += 3;
            ellipsis = true;
        }
        self.skip();
        self.expect(b'}')?;
        Ok(Formals { entries, ellipsis })
    }

    /// `formal = { identifier ("?" expr)? }`
    fn formal(&mut self, entries: &mut Vec<Formal>) -> R<()> {
        let (name, span) = self.identifier()?;
        if entries.iter().any(|formal| &*formal.name == name) {
            return Err(Reject);
        }
        self.skip();
        let mut default = None;
        if self.at(self.pos) == b'?' {
            self.pos += 1;
            self.skip();
            default = Some(self.expr()?);
        }
        entries.push(Formal {
            name: self.names.get(name),
            span,
            default,
        });
        Ok(())
    }

    /// `assert_expr` (`assert`) or `with_expr`: keyword, expr, `;`, expr.
    fn assert_with(&mut self, kw_end: usize, assert: bool) -> R<Expr> {
        let start = self.pos;
        self.pos = kw_end;
        self.skip();
        let first = self.expr()?;
        self.skip();
        self.expect(b';')?;
        self.skip();
        let body = Box::new(self.expr()?);
        let kind = if assert {
            ExprKind::Assert {
                cond: Box::new(first),
                body,
            }
        } else {
            ExprKind::With {
                env: Box::new(first),
                body,
            }
        };
        Ok(Expr {
            span: self.span(start, self.pos),
            kind,
        })
    }

    fn if_expr(&mut self, kw_end: usize) -> R<Expr> {
        let start = self.pos;
        self.pos = kw_end;
        self.skip();
        let cond = self.expr()?;
        self.skip();
        self.expect_kw(Kw::Then)?;
        self.skip();
        let then = self.expr()?;
        self.skip();
        self.expect_kw(Kw::Else)?;
        self.skip();
        let else_ = self.expr()?;
        Ok(Expr {
            span: self.span(start, self.pos),
            kind: ExprKind::If {
                cond: Box::new(cond),
                then: Box::new(then),
                else_: Box::new(else_),
            },
        })
    }

    fn let_expr(&mut self, kw_end: usize) -> R<Expr> {
        let start = self.pos;
        self.pos = kw_end;
        self.skip();
        let mut attrs = AttrsBuilder::new(false, self.span(start, start));
        self.binds(&mut attrs)?;
        self.skip();
        self.expect_kw(Kw::In)?;
        self.skip();
        let body = self.expr()?;
        if attrs.has_dynamic() {
            return Err(Reject);
        }
        Ok(Expr {
            span: self.span(start, self.pos),
            kind: ExprKind::Let {
                attrs: Box::new(attrs.finish()),
                body: Box::new(body),
            },
        })
    }

    /// `binds = { (&"inherit" inherit ";" | bind ";")* }`
    fn binds(&mut self, attrs: &mut AttrsBuilder) -> R<()> {
        loop {
            let save = self.pos;
            self.skip();
            let p = self.pos;
            match self.word(p) {
                Word::Keyword(Kw::Inherit, end) => self.inherit(end, attrs)?,
                _ if self.attr_name_starts(p) => self.bind(attrs)?,
                _ => {
                    self.pos = save;
                    return Ok(());
                }
            }
            self.skip();
            self.expect(b';')?;
        }
    }

    /// Whether `attr_name` can match at `p` (if it starts and then fails, the parse fails).
    fn attr_name_starts(&self, p: usize) -> bool {
        match self.at(p) {
            b'"' => true,
            b'$' => self.at(p + 1) == b'{',
            _ => matches!(self.word(p), Word::Ident(_) | Word::Keyword(Kw::Or, _)),
        }
    }

    /// `bind = { attrpath assign expr }`
    fn bind(&mut self, attrs: &mut AttrsBuilder) -> R<()> {
        let start = self.pos;
        let path = self.attrpath()?;
        let pos = self.span(start, self.pos);
        self.skip();
        self.expect(b'=')?;
        self.skip();
        if self.at(self.pos) == b'=' {
            return Err(Reject);
        }
        self.skip();
        let value = self.expr()?;
        attrs.add_attr(path, value, pos).map_err(|_| Reject)
    }

    /// `inherit = { kw_inherit ("(" expr ")")? (attr_or | identifier | attr_str | attr_dyn)* }`
    fn inherit(&mut self, kw_end: usize, attrs: &mut AttrsBuilder) -> R<()> {
        self.pos = kw_end;
        self.skip();
        let mut from = None;
        // Where nix positions the inherited names (see `AttrDef::name_span`).
        let mut pos = kw_end as u32;
        if self.at(self.pos) == b'(' {
            self.pos += 1;
            self.skip();
            from = Some(self.expr()?);
            self.skip();
            self.expect(b')')?;
            pos = self.pos as u32;
        }
        self.skip();
        loop {
            let save = self.pos;
            self.skip();
            let Some(elem) = self.attr_name()? else {
                self.pos = save;
                return Ok(());
            };
            let AttrName::Static(name) = elem.name else {
                return Err(Reject);
            };
            let (value, inherited) = match &from {
                Some(source) => (
                    Expr {
                        span: elem.span,
                        kind: ExprKind::Select {
                            expr: Box::new(source.clone()),
                            path: vec![AttrName::Static(name.clone())],
                            default: None,
                        },
                    },
                    false,
                ),
                None => (
                    Expr {
                        span: elem.span,
                        kind: ExprKind::Var(name.clone()),
                    },
                    true,
                ),
            };
            attrs
                .add_inherit(name, elem.span, pos, value, inherited)
                .map_err(|_| Reject)?;
        }
    }

    /// `attrpath = { attr_name (dot attr_name)* }`
    fn attrpath(&mut self) -> R<Vec<PathElem>> {
        let first = self.attr_name()?.ok_or(Reject)?;
        let mut path = vec![first];
        self.skip();
        loop {
            let save = self.pos;
            self.skip();
            if self.dot_at(self.pos) {
                self.pos += 1;
                self.skip();
                if let Some(elem) = self.attr_name()? {
                    path.push(elem);
                    continue;
                }
            }
            self.pos = save;
            return Ok(path);
        }
    }

    /// `attr_name = _{ attr_or | identifier | attr_str | attr_dyn }`; `None` if none starts.
    fn attr_name(&mut self) -> R<Option<PathElem>> {
        let p = self.pos;
        let expr = match self.at(p) {
            b'"' => self.nest(Self::string)?,
            b'$' if self.at(p + 1) == b'{' => {
                self.pos += 2;
                self.skip();
                let expr = self.expr()?;
                self.skip();
                self.expect(b'}')?;
                expr
            }
            _ => {
                let name = match self.word(p) {
                    Word::Keyword(Kw::Or, end) => {
                        self.pos = end;
                        self.names.get("or")
                    }
                    Word::Ident(end) => {
                        self.pos = end;
                        self.names.get(&self.src[p..end])
                    }
                    _ => return Ok(None),
                };
                return Ok(Some(PathElem {
                    name: AttrName::Static(name),
                    span: self.span(p, self.pos),
                }));
            }
        };
        let name = match expr.kind {
            ExprKind::Str(s) => AttrName::Static(s),
            _ => AttrName::Dynamic(expr),
        };
        Ok(Some(PathElem {
            name,
            span: self.span(p, self.pos),
        }))
    }

    /// `expr_op = { op_prefix* app (&"?" has_attr | op_infix op_prefix* app)* }`, then
    /// precedence climbing as `lower.rs` does it.
    fn expr_op(&mut self) -> R<Expr> {
        let mut items = Vec::new();
        self.prefixes(&mut items);
        self.skip();
        let app = self.app()?.ok_or(Reject)?;
        items.push(Item::Operand(app));
        self.skip();
        loop {
            let save = self.pos;
            self.skip();
            let p = self.pos;
            if self.at(p) == b'?' {
                self.pos += 1;
                self.skip();
                let path = self.attrpath()?;
                let path = path.into_iter().map(|elem| elem.name).collect();
                items.push(Item::HasAttr(path, self.span(p, self.pos)));
            } else if let Some((rule, len)) = self.infix_at(p) {
                self.pos += len;
                items.push(Item::Infix(rule, self.span(p, p + len)));
                self.skip();
                self.prefixes(&mut items);
                self.skip();
                let app = self.app()?.ok_or(Reject)?;
                items.push(Item::Operand(app));
            } else {
                self.pos = save;
                break;
            }
        }
        if items.len() == 1 {
            if let Some(Item::Operand(expr)) = items.pop() {
                return Ok(expr);
            }
            return Err(Reject);
        }
        let mut at = 0;
        let (expr, _) = self.climb(&mut items, &mut at, 0, 0)?;
        if at != items.len() {
            return Err(Reject);
        }
        Ok(expr)
    }

    /// `op_prefix*`
    fn prefixes(&mut self, items: &mut Vec<Item>) {
        loop {
            let save = self.pos;
            self.skip();
            let p = self.pos;
            let rule = match self.at(p) {
                b'!' if self.at(p + 1) != b'=' => Rule::op_not,
                b'-' if self.at(p + 1) != b'>' && !self.path_ahead(p) => Rule::op_neg,
                _ => {
                    self.pos = save;
                    return;
                }
            };
            self.pos += 1;
            items.push(Item::Prefix(rule, self.span(p, p + 1)));
        }
    }

    /// `infix_token` at `p`: the operator and its length.
    fn infix_at(&self, p: usize) -> Option<(Rule, usize)> {
        let c = self.at(p);
        let next = self.at(p + 1);
        Some(match (c, next) {
            (b'-', b'>') => (Rule::op_impl, 2),
            (b'|', b'|') => (Rule::op_or, 2),
            (b'&', b'&') => (Rule::op_and, 2),
            (b'=', b'=') => (Rule::op_eq, 2),
            (b'!', b'=') => (Rule::op_neq, 2),
            (b'<', b'=') => (Rule::op_leq, 2),
            (b'>', b'=') => (Rule::op_geq, 2),
            (b'<', _) if self.spath_end(p).is_none() => (Rule::op_lt, 1),
            (b'>', _) => (Rule::op_gt, 1),
            (b'/', b'/') => (Rule::op_update, 2),
            (b'+', b'+') if !self.path_ahead(p) => (Rule::op_concat, 2),
            (b'+', _) if next != b'+' && !self.path_ahead(p) => (Rule::op_add, 1),
            (b'-', _) if !self.path_ahead(p) => (Rule::op_sub, 1),
            (b'*', _) => (Rule::op_mul, 1),
            (b'/', _) if next != b'*' => (Rule::op_div, 1),
            _ => return None,
        })
    }

    /// `lower.rs`'s precedence climbing over pre-parsed items; `level` is how many climbs are
    /// active, each of which adds at least one level of operator depth.
    fn climb(
        &mut self,
        items: &mut [Item],
        at: &mut usize,
        min_prec: u8,
        level: usize,
    ) -> R<(Expr, usize)> {
        if self.depth + level > MAX_DEPTH {
            return Err(Reject);
        }
        let item = std::mem::replace(items.get_mut(*at).ok_or(Reject)?, Item::Taken);
        *at += 1;
        let (mut lhs, mut depth) = match item {
            Item::Prefix(rule, start) => {
                let prec = if rule == Rule::op_not {
                    PREC_NOT
                } else {
                    PREC_NEG
                };
                let (operand, depth) = stacker::maybe_grow(RED_ZONE, STACK_SEGMENT, || {
                    self.climb(items, at, prec, level + 1)
                })?;
                let span = start.to(operand.span);
                let kind = if rule == Rule::op_not {
                    ExprKind::Not(Box::new(operand))
                } else {
                    let zero = Expr {
                        span: start,
                        kind: ExprKind::Int(0),
                    };
                    lower::call_builtin(&mut self.names, "__sub", start, vec![zero, operand])
                };
                (Expr { span, kind }, depth + 1)
            }
            Item::Operand(expr) => (expr, 0),
            _ => return Err(Reject),
        };
        loop {
            match items.get(*at) {
                Some(Item::HasAttr(..)) => {
                    if PREC_HAS_ATTR < min_prec {
                        break;
                    }
                    let Item::HasAttr(path, span) = std::mem::replace(&mut items[*at], Item::Taken)
                    else {
                        return Err(Reject);
                    };
                    *at += 1;
                    lhs = Expr {
                        span: lhs.span.to(span),
                        kind: ExprKind::HasAttr {
                            expr: Box::new(lhs),
                            path,
                        },
                    };
                    depth += 1;
                }
                Some(&Item::Infix(rule, op_span)) => {
                    let (prec, assoc) = lower::infix_prec(rule).ok_or(Reject)?;
                    if prec < min_prec {
                        break;
                    }
                    *at += 1;
                    let next_min = if assoc == Assoc::Right {
                        prec
                    } else {
                        prec + 1
                    };
                    let (rhs, rhs_depth) = stacker::maybe_grow(RED_ZONE, STACK_SEGMENT, || {
                        self.climb(items, at, next_min, level + 1)
                    })?;
                    depth = depth.max(rhs_depth) + 1;
                    lhs = lower::binary(&mut self.names, rule, op_span, lhs, rhs);
                    if assoc == Assoc::None {
                        if let Some(&Item::Infix(next, _)) = items.get(*at) {
                            if lower::infix_prec(next).is_some_and(|(p, _)| p == prec) {
                                return Err(Reject);
                            }
                        }
                    }
                }
                _ => break,
            }
            if self.depth + depth > MAX_DEPTH {
                return Err(Reject);
            }
        }
        if self.depth + depth > MAX_DEPTH {
            return Err(Reject);
        }
        Ok((lhs, depth))
    }

    /// `app = { select+ }`; `None` if no select starts here.
    fn app(&mut self) -> R<Option<Expr>> {
        let start = self.pos;
        let Some(first) = self.select()? else {
            return Ok(None);
        };
        self.skip();
        let mut args = Vec::new();
        loop {
            let save = self.pos;
            self.skip();
            match self.select()? {
                Some(arg) => args.push(arg),
                None => {
                    self.pos = save;
                    break;
                }
            }
        }
        let span = self.span(start, self.pos);
        Ok(Some(
            args.into_iter()
                .fold(first, |func, arg| lower::apply(func, arg, span)),
        ))
    }

    /// `select = { simple (&"." dot attrpath (kw_or select)? | &"or" kw_or)? }`
    fn select(&mut self) -> R<Option<Expr>> {
        let start = self.pos;
        let Some(expr) = self.simple()? else {
            return Ok(None);
        };
        self.skip();
        if self.dot_at(self.pos) {
            self.pos += 1;
            self.skip();
            let path = self.attrpath()?;
            self.skip();
            let mut default = None;
            if let Word::Keyword(Kw::Or, end) = self.word(self.pos) {
                let save = self.pos;
                self.pos = end;
                self.skip();
                match self.select()? {
                    Some(value) => default = Some(Box::new(value)),
                    None => self.pos = save,
                }
            }
            return Ok(Some(Expr {
                span: self.span(start, self.pos),
                kind: ExprKind::Select {
                    expr: Box::new(expr),
                    path: path.into_iter().map(|elem| elem.name).collect(),
                    default,
                },
            }));
        }
        if let Word::Keyword(Kw::Or, end) = self.word(self.pos) {
            self.pos = end;
            let span = self.span(start, end);
            let kind = lower::call_or(&mut self.names, expr, span);
            return Ok(Some(Expr { span, kind }));
        }
        Ok(Some(expr))
    }

    /// What `simple` matches at `p`, or `None` if it fails there.
    fn simple_at(&self, p: usize) -> Option<Simple> {
        let c = self.at(p);
        Some(match c {
            b'"' => Simple::Str,
            b'{' => Simple::Attrs,
            b'[' => Simple::List,
            b'(' => Simple::Paren,
            b'\'' if self.at(p + 1) == b'\'' => Simple::IndStr,
            b'<' => Simple::Spath(self.spath_end(p)?),
            b'~' => {
                self.path_head_end(p)?;
                Simple::Path
            }
            _ if is_alpha(c) || c == b'_' => match self.word(p) {
                Word::Ident(end) => Simple::Var(end),
                Word::Keyword(Kw::Rec, end) => Simple::Rec(end),
                Word::Keyword(Kw::Let, end) => Simple::LegacyLet(end),
                Word::Keyword(..) => return None,
                Word::Other if self.path_ahead(p) => Simple::Path,
                Word::Other => Simple::Uri(self.uri_end(p)),
            },
            _ if c.is_ascii_digit() || c == b'.' => {
                if self.path_ahead(p) {
                    Simple::Path
                } else if let Some(end) = self.float_end(p) {
                    Simple::Float(end)
                } else if c.is_ascii_digit() {
                    let mut end = p;
                    while self.at(end).is_ascii_digit() {
                        end += 1;
                    }
                    Simple::Int(end)
                } else {
                    return None;
                }
            }
            _ if is_path_char(c) || c == b'/' => {
                if !self.path_ahead(p) {
                    return None;
                }
                Simple::Path
            }
            _ => return None,
        })
    }

    /// `simple`; `None` if nothing of it starts here.
    fn simple(&mut self) -> R<Option<Expr>> {
        let Some(kind) = self.simple_at(self.pos) else {
            return Ok(None);
        };
        self.nest(|s| s.simple_parse(kind)).map(Some)
    }

    fn simple_parse(&mut self, simple: Simple) -> R<Expr> {
        let start = self.pos;
        let kind = match simple {
            Simple::Var(end) => {
                self.pos = end;
                let text = &self.src[start..end];
                if text == "__curPos" {
                    ExprKind::CurPos
                } else {
                    ExprKind::Var(self.names.get(text))
                }
            }
            Simple::Int(end) => {
                self.pos = end;
                ExprKind::Int(desugar::parse_int(&self.src[start..end]).ok_or(Reject)?)
            }
            Simple::Float(end) => {
                self.pos = end;
                ExprKind::Float(desugar::parse_float(&self.src[start..end]).ok_or(Reject)?)
            }
            Simple::Uri(end) => {
                self.pos = end;
                ExprKind::Str(Arc::from(&self.src[start..end]))
            }
            Simple::Spath(end) => {
                self.pos = end;
                let span = self.span(start, end);
                lower::find_file(&mut self.names, &self.src[start + 1..end - 1], span)
            }
            Simple::Paren => {
                self.pos += 1;
                self.skip();
                let inner = self.expr()?;
                self.skip();
                self.expect(b')')?;
                return Ok(inner);
            }
            Simple::Attrs | Simple::Rec(_) | Simple::LegacyLet(_) => {
                let rec = !matches!(simple, Simple::Attrs);
                if let Simple::Rec(end) | Simple::LegacyLet(end) = simple {
                    self.pos = end;
                    self.skip();
                }
                self.expect(b'{')?;
                self.skip();
                let mut attrs = AttrsBuilder::new(rec, self.span(start, start));
                self.binds(&mut attrs)?;
                self.skip();
                self.expect(b'}')?;
                let span = self.span(start, self.pos);
                attrs.set_span(span);
                let attrs = attrs.finish_expr();
                if !matches!(simple, Simple::LegacyLet(_)) {
                    return Ok(attrs);
                }
                // `let { body = e; }` is `(rec { body = e; }).body`.
                ExprKind::Select {
                    expr: Box::new(attrs),
                    path: vec![AttrName::Static(self.names.get("body"))],
                    default: None,
                }
            }
            Simple::List => {
                self.pos += 1;
                self.skip();
                let mut elems = Vec::new();
                loop {
                    let save = self.pos;
                    self.skip();
                    match self.select()? {
                        Some(elem) => elems.push(elem),
                        None => {
                            self.pos = save;
                            break;
                        }
                    }
                }
                self.skip();
                self.expect(b']')?;
                ExprKind::List(elems)
            }
            Simple::Str => return self.string(),
            Simple::IndStr => return self.ind_string(),
            Simple::Path => return self.path(),
        };
        Ok(Expr {
            span: self.span(start, self.pos),
            kind,
        })
    }
}
