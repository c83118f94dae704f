//! Lowering: pest pairs of `grammar/kiln.pest` into the AST of `ast.rs`, performing Nix 2.8's
//! desugarings and parse-time checks on the way. This is the only module that touches
//! `pest::iterators::Pair`; the transformations themselves live in `desugar.rs`. The small
//! node builders below (`binary`, `apply`, `find_file`, ...) are shared with `fast.rs`, which
//! must build exactly the nodes built here.
//!
//! Operators arrive as a flat sequence (`op_prefix* app (op app | ? path)*`) and get Nix's
//! precedence here, by precedence climbing. Every recursion is bounded by [`MAX_DEPTH`], so
//! that later passes (printing, scope checking, dropping) cannot overflow the stack either.

use crate::ast::{AttrName, BinOp, Expr, ExprKind, Formal, Formals, Lambda, Name};
use crate::desugar::{self, AttrsBuilder, DupAttr, IndPart, PathElem};
use crate::error::{SyntaxError, SyntaxErrorKind};
use crate::grammar::Rule;
use crate::span::{FileId, SourceMap, Span};
use pest::iterators::{Pair, Pairs};
use std::collections::HashMap;
use std::hash::BuildHasherDefault;
use std::sync::Arc;

/// How deeply expressions may nest. Nix's bison stack gives up near 10 000 levels too.
pub(crate) const MAX_DEPTH: usize = 10_000;

type Result<T> = std::result::Result<T, SyntaxError>;

pub(crate) struct Lowerer<'a> {
    pub(crate) sources: &'a SourceMap,
    pub(crate) file: FileId,
    pub(crate) base_dir: String,
    pub(crate) home: String,
    depth: usize,
    names: Names<'a>,
}

/// Interned names, so repeated identifiers share one allocation.
#[derive(Default)]
pub(crate) struct Names<'a>(HashMap<&'a str, Name, BuildHasherDefault<desugar::FxHasher>>);

impl<'a> Names<'a> {
    pub(crate) fn get(&mut self, text: &'a str) -> Name {
        if let Some(name) = self.0.get(text) {
            return name.clone();
        }
        let name: Name = Arc::from(text);
        self.0.insert(text, name.clone());
        name
    }
}

impl<'a> Lowerer<'a> {
    pub(crate) fn new(
        sources: &'a SourceMap,
        file: FileId,
        base_dir: String,
        home: String,
    ) -> Self {
        Lowerer {
            sources,
            file,
            base_dir,
            home,
            depth: 0,
            names: Names::default(),
        }
    }

    /// Lowers the `file` rule.
    pub(crate) fn lower_file(&mut self, mut pairs: Pairs<'a, Rule>) -> Result<Expr> {
        let file = pairs.next().ok_or_else(|| self.bug("empty parse"))?;
        let expr = file.into_inner().find(|pair| pair.as_rule() != Rule::EOI);
        let expr = expr.ok_or_else(|| self.bug("file without expression"))?;
        self.lower_expr(expr)
    }

    fn span(&self, pair: &Pair<'_, Rule>) -> Span {
        let span = pair.as_span();
        Span::new(self.file, span.start() as u32, span.end() as u32)
    }

    fn name(&mut self, text: &'a str) -> Name {
        self.names.get(text)
    }

    fn error(
        &self,
        kind: SyntaxErrorKind,
        span: Span,
        message: String,
        label: &str,
    ) -> SyntaxError {
        SyntaxError::new(self.sources, kind, span, message, label)
    }

    /// nix's first line for a token its grammar does not allow at `at`.
    fn nix_unexpected(&self, at: Span) -> String {
        let text = &self.sources.get(self.file).text;
        format!(
            "syntax error, unexpected {}",
            crate::bison::token_at(text, at.start as usize)
        )
    }

    fn bug(&self, what: &str) -> SyntaxError {
        let span = Span::new(self.file, 0, 0);
        SyntaxError::new(
            self.sources,
            SyntaxErrorKind::Unexpected,
            span,
            format!("kiln bug: {what}"),
            "here",
        )
        .with_help("this is a bug in kiln's parser; please report it")
    }

    fn too_deep(&self, span: Span) -> SyntaxError {
        self.error(
            SyntaxErrorKind::NestingTooDeep,
            Span::new(
                span.file,
                span.start,
                span.start.saturating_add(1).min(span.end.max(span.start)),
            ),
            format!("nesting too deep (more than {MAX_DEPTH} levels)"),
            "this expression nests too deeply",
        )
    }

    fn lower_expr(&mut self, pair: Pair<'a, Rule>) -> Result<Expr> {
        // Single-operand layers create no AST node, so they do not count. Parentheses do not
        // either, but they count, so that kiln accepts roughly what Nix accepts.
        let nests = !matches!(pair.as_rule(), Rule::expr_op | Rule::app | Rule::select);
        if nests {
            self.depth += 1;
            if self.depth > MAX_DEPTH {
                return Err(self.too_deep(self.span(&pair)));
            }
        }
        let res = self.lower_expr_inner(pair);
        if nests {
            self.depth -= 1;
        }
        res
    }

    fn lower_expr_inner(&mut self, pair: Pair<'a, Rule>) -> Result<Expr> {
        let span = self.span(&pair);
        let kind = match pair.as_rule() {
            Rule::lambda => return self.lower_lambda(pair),
            Rule::assert_expr => {
                let [cond, body] = self.exprs(pair)?;
                ExprKind::Assert {
                    cond: Box::new(cond),
                    body: Box::new(body),
                }
            }
            Rule::with_expr => {
                let [env, body] = self.exprs(pair)?;
                ExprKind::With {
                    env: Box::new(env),
                    body: Box::new(body),
                }
            }
            Rule::if_expr => {
                let [cond, then, else_] = self.exprs(pair)?;
                ExprKind::If {
                    cond: Box::new(cond),
                    then: Box::new(then),
                    else_: Box::new(else_),
                }
            }
            Rule::let_expr => {
                let mut binds = None;
                let mut body = None;
                for child in pair.into_inner() {
                    match child.as_rule() {
                        Rule::kw_let | Rule::kw_in => {}
                        Rule::binds => binds = Some(self.lower_binds(child, false, span)?),
                        _ => body = Some(self.lower_expr(child)?),
                    }
                }
                let (binds, body) = binds.zip(body).ok_or_else(|| self.bug("malformed let"))?;
                if binds.has_dynamic() {
                    return Err(self.error(
                        SyntaxErrorKind::DynamicAttrInLet,
                        Span::new(self.file, span.start, span.start + 3),
                        "dynamic attributes not allowed in let".into(),
                        "this `let` binds a `${...}` key",
                    ));
                }
                ExprKind::Let {
                    attrs: Box::new(binds.finish()),
                    body: Box::new(body),
                }
            }
            Rule::expr_op => return self.lower_op(pair),
            Rule::app => return self.lower_app(pair),
            Rule::select => return self.lower_select(pair),
            _ => return self.lower_simple(pair),
        };
        Ok(Expr { span, kind })
    }

    /// The expression children of a keyword construct, skipping keyword tokens.
    fn exprs<const N: usize>(&mut self, pair: Pair<'a, Rule>) -> Result<[Expr; N]> {
        let mut out = Vec::with_capacity(N);
        for child in pair.into_inner() {
            if !is_keyword(child.as_rule()) {
                out.push(self.lower_expr(child)?);
            }
        }
        out.try_into()
            .map_err(|_| self.bug("wrong number of subexpressions"))
    }

    fn lower_lambda(&mut self, pair: Pair<'a, Rule>) -> Result<Expr> {
        let span = self.span(&pair);
        let mut arg: Option<(Name, Span)> = None;
        let mut formals = None;
        let mut body = None;
        for child in pair.into_inner() {
            match child.as_rule() {
                Rule::identifier => arg = Some((self.name(child.as_str()), self.span(&child))),
                Rule::formals => formals = Some(self.lower_formals(child)?),
                _ => body = Some(self.lower_expr(child)?),
            }
        }
        let body = body.ok_or_else(|| self.bug("lambda without body"))?;
        if let (Some((arg, _)), Some(formals)) = (&arg, &formals) {
            if formals.entries.iter().any(|formal| formal.name == *arg) {
                return Err(self.error(
                    SyntaxErrorKind::DuplicateFormal,
                    span,
                    format!("duplicate formal function argument '{arg}'"),
                    "the `@` name is also a formal argument",
                ));
            }
        }
        let lambda = Lambda {
            arg: arg.map(|(name, _)| name),
            formals,
            body,
        };
        Ok(Expr {
            span,
            kind: ExprKind::Lambda(Box::new(lambda)),
        })
    }

    fn lower_formals(&mut self, pair: Pair<'a, Rule>) -> Result<Formals> {
        let mut entries: Vec<Formal> = Vec::new();
        let mut ellipsis = false;
        let mut seen: HashMap<Name, Span> = HashMap::new();
        for child in pair.into_inner() {
            if child.as_rule() == Rule::ellipsis {
                ellipsis = true;
                continue;
            }
            let mut inner = child.into_inner();
            let ident = inner
                .next()
                .ok_or_else(|| self.bug("formal without name"))?;
            let name = self.name(ident.as_str());
            let name_span = self.span(&ident);
            let default = inner.next().map(|expr| self.lower_expr(expr)).transpose()?;
            if let Some(previous) = seen.insert(name.clone(), name_span) {
                return Err(self
                    .error(
                        SyntaxErrorKind::DuplicateFormal,
                        name_span,
                        format!("duplicate formal function argument '{name}'"),
                        "declared a second time here",
                    )
                    .with_related(previous, "first declared here"));
            }
            entries.push(Formal {
                name,
                span: name_span,
                default,
            });
        }
        Ok(Formals { entries, ellipsis })
    }

    /// `f a b`: one call with all arguments; a function that is already a call (`(f a) b`,
    /// `(a - b) c`, `<p> x`) gets the arguments appended, as in Nix.
    fn lower_app(&mut self, pair: Pair<'a, Rule>) -> Result<Expr> {
        let span = self.span(&pair);
        let mut children = pair.into_inner();
        let first = children
            .next()
            .ok_or_else(|| self.bug("empty application"))?;
        let mut func = self.lower_expr(first)?;
        for child in children {
            let arg = self.lower_expr(child)?;
            func = apply(func, arg, span);
        }
        Ok(func)
    }

    fn lower_select(&mut self, pair: Pair<'a, Rule>) -> Result<Expr> {
        let span = self.span(&pair);
        let mut children = pair.into_inner();
        let simple = children.next().ok_or_else(|| self.bug("empty select"))?;
        let expr = self.lower_expr(simple)?;
        let mut path = None;
        let mut default = None;
        let mut saw_or = false;
        for child in children {
            match child.as_rule() {
                Rule::attrpath => path = Some(self.lower_attrpath(child)?),
                Rule::kw_or => saw_or = true,
                _ => default = Some(Box::new(self.lower_expr(child)?)),
            }
        }
        let kind = match path {
            Some(path) => ExprKind::Select {
                expr: Box::new(expr),
                path: path.into_iter().map(|elem| elem.name).collect(),
                default,
            },
            // `f or`: Nix parses a bare `or` after a simple expression as an argument.
            None if saw_or => call_or(&mut self.names, expr, span),
            None => return Ok(expr),
        };
        Ok(Expr { span, kind })
    }

    fn lower_attrpath(&mut self, pair: Pair<'a, Rule>) -> Result<Vec<PathElem>> {
        pair.into_inner()
            .map(|elem| self.lower_attr_name(elem))
            .collect()
    }

    /// One attribute name. A string or `${e}` key whose value is a plain string is static.
    fn lower_attr_name(&mut self, pair: Pair<'a, Rule>) -> Result<PathElem> {
        let span = self.span(&pair);
        let name = match pair.as_rule() {
            Rule::identifier => AttrName::Static(self.name(pair.as_str())),
            Rule::attr_or => AttrName::Static(self.name("or")),
            Rule::attr_str | Rule::attr_dyn => {
                let inner = pair
                    .into_inner()
                    .next()
                    .ok_or_else(|| self.bug("empty attribute name"))?;
                let expr = self.lower_expr(inner)?;
                match expr.kind {
                    ExprKind::Str(s) => AttrName::Static(s),
                    _ => AttrName::Dynamic(expr),
                }
            }
            _ => return Err(self.bug("unknown attribute name")),
        };
        Ok(PathElem { name, span })
    }

    /// `binds` of an attribute set or `let`; `span` is the span of the whole set expression.
    fn lower_binds(&mut self, pair: Pair<'a, Rule>, rec: bool, span: Span) -> Result<AttrsBuilder> {
        let mut attrs = AttrsBuilder::new(rec, span);
        for bind in pair.into_inner() {
            match bind.as_rule() {
                Rule::bind => {
                    let mut inner = bind.into_inner();
                    let path_pair = inner.next().ok_or_else(|| self.bug("bind without path"))?;
                    let pos = self.span(&path_pair);
                    let path = self.lower_attrpath(path_pair)?;
                    let value = inner.next().ok_or_else(|| self.bug("bind without value"))?;
                    let value = self.lower_expr(value)?;
                    attrs
                        .add_attr(path, value, pos)
                        .map_err(|dup| self.dup_error(dup))?;
                }
                Rule::inherit => self.lower_inherit(bind, &mut attrs)?,
                _ => return Err(self.bug("unknown binding")),
            }
        }
        Ok(attrs)
    }

    fn lower_inherit(&mut self, pair: Pair<'a, Rule>, attrs: &mut AttrsBuilder) -> Result<()> {
        let mut from: Option<Expr> = None;
        // Where nix positions the inherited names (see `AttrDef::name_span`).
        let mut pos = 0u32;
        for child in pair.into_inner() {
            match child.as_rule() {
                Rule::kw_inherit => pos = self.span(&child).end,
                Rule::identifier | Rule::attr_or | Rule::attr_str | Rule::attr_dyn => {
                    let elem = self.lower_attr_name(child)?;
                    let AttrName::Static(name) = elem.name else {
                        return Err(self.error(
                            SyntaxErrorKind::DynamicAttrInInherit,
                            elem.span,
                            "dynamic attributes not allowed in inherit".into(),
                            "`inherit` needs a fixed name",
                        ));
                    };
                    let (value, inherited) = match &from {
                        Some(source) => {
                            let kind = ExprKind::Select {
                                expr: Box::new(source.clone()),
                                path: vec![AttrName::Static(name.clone())],
                                default: None,
                            };
                            (
                                Expr {
                                    span: elem.span,
                                    kind,
                                },
                                false,
                            )
                        }
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
                        .map_err(|dup| self.dup_error(dup))?;
                }
                _ => {
                    let expr = self.lower_expr(child)?;
                    let text = &self.sources.get(self.file).text;
                    pos = crate::desugar::after_close_paren(text, expr.span.end as usize) as u32;
                    from = Some(expr);
                }
            }
        }
        Ok(())
    }

    fn dup_error(&self, dup: DupAttr) -> SyntaxError {
        let previous = self.sources.message_position(dup.previous);
        self.error(
            SyntaxErrorKind::DuplicateAttr,
            dup.span,
            format!("attribute '{}' already defined at {previous}", dup.path),
            "defined again here",
        )
        .with_related(dup.previous, "first defined here")
    }

    fn lower_simple(&mut self, pair: Pair<'a, Rule>) -> Result<Expr> {
        let span = self.span(&pair);
        let kind = match pair.as_rule() {
            Rule::int => match desugar::parse_int(pair.as_str()) {
                Some(n) => ExprKind::Int(n),
                None => {
                    return Err(self.error(
                        SyntaxErrorKind::InvalidInteger,
                        span,
                        format!("invalid integer '{}'", pair.as_str()),
                        "does not fit in a 64-bit signed integer",
                    ))
                }
            },
            Rule::float => match desugar::parse_float(pair.as_str()) {
                Some(x) => ExprKind::Float(x),
                None => {
                    return Err(self.error(
                        SyntaxErrorKind::InvalidFloat,
                        span,
                        format!("invalid float '{}'", pair.as_str()),
                        "out of the range of a double",
                    ))
                }
            },
            Rule::var => {
                let text = pair.as_str();
                if text == "__curPos" {
                    ExprKind::CurPos
                } else {
                    ExprKind::Var(self.name(text))
                }
            }
            Rule::uri => ExprKind::Str(Arc::from(pair.as_str())),
            Rule::spath => {
                let text = pair.as_str();
                find_file(&mut self.names, &text[1..text.len() - 1], span)
            }
            Rule::path => return self.lower_path(pair),
            Rule::string => return self.lower_string(pair),
            Rule::ind_string => return self.lower_ind_string(pair),
            Rule::paren => {
                let inner = pair
                    .into_inner()
                    .next()
                    .ok_or_else(|| self.bug("empty parentheses"))?;
                return self.lower_expr(inner);
            }
            Rule::attrs | Rule::rec_attrs => {
                let rec = pair.as_rule() == Rule::rec_attrs;
                let binds = pair
                    .into_inner()
                    .find(|child| child.as_rule() == Rule::binds)
                    .ok_or_else(|| self.bug("attribute set without bindings"))?;
                let mut builder = self.lower_binds(binds, rec, span)?;
                builder.set_span(span);
                return Ok(builder.finish_expr());
            }
            Rule::legacy_let => {
                // `let { body = e; }` is `(rec { body = e; }).body`.
                let binds = pair
                    .into_inner()
                    .find(|child| child.as_rule() == Rule::binds)
                    .ok_or_else(|| self.bug("let without bindings"))?;
                let attrs = self.lower_binds(binds, true, span)?.finish_expr();
                ExprKind::Select {
                    expr: Box::new(attrs),
                    path: vec![AttrName::Static(self.name("body"))],
                    default: None,
                }
            }
            Rule::list => {
                let elems = pair
                    .into_inner()
                    .map(|elem| self.lower_expr(elem))
                    .collect::<Result<_>>()?;
                ExprKind::List(elems)
            }
            _ => return Err(self.bug("unknown expression")),
        };
        Ok(Expr { span, kind })
    }

    fn lower_string(&mut self, pair: Pair<'a, Rule>) -> Result<Expr> {
        let span = self.span(&pair);
        let mut parts = Vec::new();
        // `"${"y"}"` stays a concatenation (Nix prints it `("y")` and coerces the part), so
        // only a string made of literal text alone becomes a plain `Str`.
        let mut interpolated = false;
        for child in pair.into_inner() {
            match child.as_rule() {
                Rule::str_chars => {
                    let mut text = String::with_capacity(child.as_str().len());
                    desugar::unescape_str(child.as_str(), &mut text);
                    parts.push(Expr {
                        span: self.span(&child),
                        kind: ExprKind::Str(Arc::from(text)),
                    });
                }
                _ => {
                    let inner = child
                        .into_inner()
                        .next()
                        .ok_or_else(|| self.bug("empty ${}"))?;
                    interpolated = true;
                    parts.push(self.lower_expr(inner)?);
                }
            }
        }
        Ok(match parts.len() {
            0 => Expr {
                span,
                kind: ExprKind::Str(Arc::from("")),
            },
            1 if !interpolated => {
                let mut only = parts.pop().expect("one part");
                only.span = span;
                only
            }
            _ => Expr {
                span,
                kind: ExprKind::ConcatStrings {
                    force_string: true,
                    parts,
                },
            },
        })
    }

    fn lower_ind_string(&mut self, pair: Pair<'a, Rule>) -> Result<Expr> {
        let span = self.span(&pair);
        let mut parts = Vec::new();
        for child in pair.into_inner() {
            let child_span = self.span(&child);
            let text = child.as_str();
            let (text, indented) = match child.as_rule() {
                Rule::ind_open => continue,
                Rule::ind_text => (text.to_string(), true),
                Rule::ind_quotes => ("''".to_string(), false),
                Rule::ind_dollar | Rule::ind_lone_dollar => ("$".to_string(), false),
                Rule::ind_quote => ("'".to_string(), false),
                Rule::ind_escape => {
                    let mut out = String::new();
                    desugar::unescape_str(&text[2..], &mut out);
                    (out, false)
                }
                _ => {
                    let inner = child
                        .into_inner()
                        .next()
                        .ok_or_else(|| self.bug("empty ${}"))?;
                    parts.push(IndPart::Interp(self.lower_expr(inner)?));
                    continue;
                }
            };
            parts.push(IndPart::Text {
                text,
                indented,
                span: child_span,
            });
        }
        Ok(desugar::strip_indentation(span, parts))
    }

    /// A path literal, possibly with interpolations, checked against the token sequences
    /// Nix's grammar accepts (`path_start [STR] ${e} (STR | ${e})*`).
    fn lower_path(&mut self, pair: Pair<'a, Rule>) -> Result<Expr> {
        let span = self.span(&pair);
        let mut children = pair.into_inner();
        let head = children.next().ok_or_else(|| self.bug("empty path"))?;
        let head_span = self.span(&head);
        let head_text = head.as_str();
        let resolved = if head.as_rule() == Rule::hpath_head {
            format!("{}{}", self.home, &head_text[1..])
        } else {
            desugar::resolve_path(head_text, &self.base_dir)
        };
        let head_expr = Expr {
            span: head_span,
            kind: ExprKind::Path(Arc::from(resolved)),
        };
        let rest: Vec<Pair<'a, Rule>> = children.collect();
        let trailing_slash = |lowerer: &Self, at: Span| {
            lowerer.error(
                SyntaxErrorKind::PathTrailingSlash,
                Span::new(at.file, at.end.saturating_sub(1), at.end),
                "path has a trailing slash".into(),
                "remove this `/`",
            )
        };
        if rest.is_empty() {
            if head_text.ends_with('/') {
                return Err(trailing_slash(self, head_span));
            }
            return Ok(Expr { span, ..head_expr });
        }
        let first_interp = rest.iter().position(|p| p.as_rule() == Rule::path_interp);
        if !matches!(first_interp, Some(0 | 1)) {
            let at = self.span(&rest[0]);
            // nix's lexer ends the path token here (`PATH_END`) and its parser wants `${`.
            return Err(self
                .error(
                    SyntaxErrorKind::Unexpected,
                    at,
                    "syntax error, unexpected PATH_END, expecting DOLLAR_CURLY".into(),
                    "expected `${` here",
                )
                .with_help("Nix cannot continue a path here without an interpolation"));
        }
        let mut parts = vec![head_expr];
        let mut last_piece: Option<Span> = None;
        for child in rest {
            let child_span = self.span(&child);
            if child.as_rule() == Rule::path_piece {
                let text = child.as_str();
                last_piece = text.ends_with('/').then_some(child_span);
                parts.push(Expr {
                    span: child_span,
                    kind: ExprKind::Str(Arc::from(text)),
                });
            } else {
                last_piece = None;
                let inner = child
                    .into_inner()
                    .next()
                    .ok_or_else(|| self.bug("empty ${}"))?;
                parts.push(self.lower_expr(inner)?);
            }
        }
        if let Some(at) = last_piece {
            return Err(trailing_slash(self, at));
        }
        Ok(Expr {
            span,
            kind: ExprKind::ConcatStrings {
                force_string: false,
                parts,
            },
        })
    }

    /// Precedence climbing over `op_prefix* app (op app | has_attr)*`.
    fn lower_op(&mut self, pair: Pair<'a, Rule>) -> Result<Expr> {
        let items: Vec<Pair<'a, Rule>> = pair.into_inner().collect();
        let mut pos = 0;
        let (expr, _) = self.climb(&items, &mut pos, 0)?;
        if pos != items.len() {
            let at = self.span(&items[pos]);
            return Err(self
                .error(
                    SyntaxErrorKind::Unexpected,
                    at,
                    self.nix_unexpected(at),
                    "add parentheses",
                )
                .with_help(format!("`{}` does not chain", items[pos].as_str())));
        }
        Ok(expr)
    }

    /// Parses operands and operators binding tighter than `min_prec`; returns the expression
    /// and its operator nesting depth (checked against [`MAX_DEPTH`]).
    fn climb(
        &mut self,
        items: &[Pair<'a, Rule>],
        pos: &mut usize,
        min_prec: u8,
    ) -> Result<(Expr, usize)> {
        let item = items.get(*pos).ok_or_else(|| self.bug("missing operand"))?;
        let start = self.span(item);
        let (mut lhs, mut depth) = match item.as_rule() {
            Rule::op_not | Rule::op_neg => {
                let rule = item.as_rule();
                *pos += 1;
                let prec = if rule == Rule::op_not {
                    PREC_NOT
                } else {
                    PREC_NEG
                };
                let (operand, depth) = self.climb(items, pos, prec)?;
                let span = start.to(operand.span);
                let kind = if rule == Rule::op_not {
                    ExprKind::Not(Box::new(operand))
                } else {
                    let zero = Expr {
                        span: start,
                        kind: ExprKind::Int(0),
                    };
                    call_builtin(&mut self.names, "__sub", start, vec![zero, operand])
                };
                (Expr { span, kind }, depth + 1)
            }
            _ => {
                *pos += 1;
                (self.lower_expr(item.clone())?, 0)
            }
        };
        while let Some(op) = items.get(*pos) {
            let rule = op.as_rule();
            if rule == Rule::has_attr {
                if PREC_HAS_ATTR < min_prec {
                    break;
                }
                *pos += 1;
                let path_pair = op
                    .clone()
                    .into_inner()
                    .next()
                    .ok_or_else(|| self.bug("? without path"))?;
                let path = self.lower_attrpath(path_pair)?;
                let span = lhs.span.to(self.span(op));
                let path = path.into_iter().map(|elem| elem.name).collect();
                lhs = Expr {
                    span,
                    kind: ExprKind::HasAttr {
                        expr: Box::new(lhs),
                        path,
                    },
                };
                depth += 1;
            } else {
                let Some((prec, assoc)) = infix_prec(rule) else {
                    break;
                };
                if prec < min_prec {
                    break;
                }
                let op_span = self.span(op);
                *pos += 1;
                let next_min = if assoc == Assoc::Right {
                    prec
                } else {
                    prec + 1
                };
                let (rhs, rhs_depth) = self.climb(items, pos, next_min)?;
                depth = depth.max(rhs_depth) + 1;
                lhs = binary(&mut self.names, rule, op_span, lhs, rhs);
                if assoc == Assoc::None {
                    if let Some(next) = items.get(*pos) {
                        if infix_prec(next.as_rule()).is_some_and(|(p, _)| p == prec) {
                            let at = self.span(next);
                            return Err(self
                                .error(
                                    SyntaxErrorKind::Unexpected,
                                    at,
                                    self.nix_unexpected(at),
                                    "add parentheses",
                                )
                                .with_help("comparisons do not chain"));
                        }
                    }
                }
            }
            if self.depth + depth > MAX_DEPTH {
                return Err(self.too_deep(lhs.span));
            }
        }
        if self.depth + depth > MAX_DEPTH {
            return Err(self.too_deep(lhs.span));
        }
        Ok((lhs, depth))
    }
}

/// `name args`, with `name` a variable at `span` (how Nix desugars `-`, `<`, ...).
pub(crate) fn call_builtin(
    names: &mut Names<'_>,
    name: &'static str,
    span: Span,
    args: Vec<Expr>,
) -> ExprKind {
    let func = Expr {
        span,
        kind: ExprKind::Var(names.get(name)),
    };
    ExprKind::Call {
        func: Box::new(func),
        args,
    }
}

/// The node for `lhs op rhs`, `op` being the rule of an infix operator token.
pub(crate) fn binary(
    names: &mut Names<'_>,
    rule: Rule,
    op_span: Span,
    lhs: Expr,
    rhs: Expr,
) -> Expr {
    let span = lhs.span.to(rhs.span);
    let op = |op: BinOp, lhs: Expr, rhs: Expr| ExprKind::Binary {
        op,
        lhs: Box::new(lhs),
        rhs: Box::new(rhs),
    };
    let kind = match rule {
        Rule::op_impl => op(BinOp::Impl, lhs, rhs),
        Rule::op_or => op(BinOp::Or, lhs, rhs),
        Rule::op_and => op(BinOp::And, lhs, rhs),
        Rule::op_eq => op(BinOp::Eq, lhs, rhs),
        Rule::op_neq => op(BinOp::NEq, lhs, rhs),
        Rule::op_update => op(BinOp::Update, lhs, rhs),
        Rule::op_concat => op(BinOp::ConcatLists, lhs, rhs),
        Rule::op_add => ExprKind::ConcatStrings {
            force_string: false,
            parts: vec![lhs, rhs],
        },
        Rule::op_sub => call_builtin(names, "__sub", op_span, vec![lhs, rhs]),
        Rule::op_mul => call_builtin(names, "__mul", op_span, vec![lhs, rhs]),
        Rule::op_div => call_builtin(names, "__div", op_span, vec![lhs, rhs]),
        Rule::op_lt => call_builtin(names, "__lessThan", op_span, vec![lhs, rhs]),
        Rule::op_gt => call_builtin(names, "__lessThan", op_span, vec![rhs, lhs]),
        Rule::op_leq | Rule::op_geq => {
            let args = if rule == Rule::op_leq {
                vec![rhs, lhs]
            } else {
                vec![lhs, rhs]
            };
            let call = call_builtin(names, "__lessThan", op_span, args);
            ExprKind::Not(Box::new(Expr { span, kind: call }))
        }
        _ => op(BinOp::Eq, lhs, rhs),
    };
    Expr { span, kind }
}

/// `func arg` for one more argument of an application spanning `span`: a function that is
/// already a call (`(f a) b`, `(a - b) c`, `<p> x`) gets the argument appended, as in Nix.
pub(crate) fn apply(mut func: Expr, arg: Expr, span: Span) -> Expr {
    match &mut func.kind {
        ExprKind::Call { args, .. } => {
            args.push(arg);
            func.span = span;
            func
        }
        _ => Expr {
            span,
            kind: ExprKind::Call {
                func: Box::new(func),
                args: vec![arg],
            },
        },
    }
}

/// `f or` (a select `span` ending in a bare `or`): Nix parses the `or` as an argument.
pub(crate) fn call_or(names: &mut Names<'_>, func: Expr, span: Span) -> ExprKind {
    let or = Expr {
        span: Span::new(span.file, span.end - 2, span.end),
        kind: ExprKind::Var(names.get("or")),
    };
    ExprKind::Call {
        func: Box::new(func),
        args: vec![or],
    }
}

/// `<inner>` is `__findFile __nixPath "inner"`, every node at `span`.
pub(crate) fn find_file(names: &mut Names<'_>, inner: &str, span: Span) -> ExprKind {
    let var = |name: Name| Expr {
        span,
        kind: ExprKind::Var(name),
    };
    ExprKind::Call {
        func: Box::new(var(names.get("__findFile"))),
        args: vec![
            var(names.get("__nixPath")),
            Expr {
                span,
                kind: ExprKind::Str(Arc::from(inner)),
            },
        ],
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Assoc {
    Left,
    Right,
    None,
}

// Nix 2.8's bison precedences, lowest first.
pub(crate) const PREC_NOT: u8 = 7;
pub(crate) const PREC_HAS_ATTR: u8 = 11;
pub(crate) const PREC_NEG: u8 = 12;

pub(crate) fn infix_prec(rule: Rule) -> Option<(u8, Assoc)> {
    Some(match rule {
        Rule::op_impl => (1, Assoc::Right),
        Rule::op_or => (2, Assoc::Left),
        Rule::op_and => (3, Assoc::Left),
        Rule::op_eq | Rule::op_neq => (4, Assoc::None),
        Rule::op_lt | Rule::op_gt | Rule::op_leq | Rule::op_geq => (5, Assoc::None),
        Rule::op_update => (6, Assoc::Right),
        Rule::op_add | Rule::op_sub => (8, Assoc::Left),
        Rule::op_mul | Rule::op_div => (9, Assoc::Left),
        Rule::op_concat => (10, Assoc::Right),
        _ => return None,
    })
}

fn is_keyword(rule: Rule) -> bool {
    matches!(
        rule,
        Rule::kw_if
            | Rule::kw_then
            | Rule::kw_else
            | Rule::kw_assert
            | Rule::kw_with
            | Rule::kw_let
            | Rule::kw_in
            | Rule::kw_rec
            | Rule::kw_inherit
            | Rule::kw_or
    )
}
