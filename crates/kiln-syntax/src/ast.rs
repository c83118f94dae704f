//! The typed AST. It follows Nix 2.8's own expression tree (`nixexpr.hh`) closely, because
//! `kiln parse` must print exactly what `nix-instantiate --parse` prints and the evaluator must
//! see the same desugarings Nix's parser performs:
//!
//! - binary `-`, `*`, `/`, `<`, `<=`, `>`, `>=` and unary `-` become calls of `__sub`, `__mul`,
//!   `__div`, `__lessThan` (with `!` and swapped operands), looked up as ordinary variables;
//! - `+` and string/path interpolation become [`ExprKind::ConcatStrings`];
//! - `<p>` becomes `__findFile __nixPath "p"`;
//! - nested keys `a.b = 1; a.c = 2;` become nested [`Attrs`]; `inherit (e) x;` becomes `x = e.x`;
//! - legacy `let { body = e; }` becomes `(rec { body = e; }).body`;
//! - relative and `~` paths are made absolute against the file's directory / `$HOME`.
//!
//! No pest type appears here: the AST is the crate's API boundary.

use crate::span::Span;
use std::sync::Arc;

/// An identifier or attribute name.
pub type Name = Arc<str>;

#[derive(Clone, Debug)]
pub struct Expr {
    pub span: Span,
    pub kind: ExprKind,
}

#[derive(Clone, Debug)]
pub enum ExprKind {
    Int(i64),
    Float(f64),
    /// A string without interpolation (also URIs and indented strings after stripping).
    Str(Arc<str>),
    /// An absolute, lexically canonicalised path (no `.` or `..` components).
    Path(Arc<str>),
    Var(Name),
    /// `e.a.b` with an optional `or` default.
    Select {
        expr: Box<Expr>,
        path: Vec<AttrName>,
        default: Option<Box<Expr>>,
    },
    /// `e ? a.b`.
    HasAttr {
        expr: Box<Expr>,
        path: Vec<AttrName>,
    },
    Attrs(Box<Attrs>),
    List(Vec<Expr>),
    Lambda(Box<Lambda>),
    /// `f a b`: Nix keeps the arguments of one application chain together.
    Call {
        func: Box<Expr>,
        args: Vec<Expr>,
    },
    Let {
        attrs: Box<Attrs>,
        body: Box<Expr>,
    },
    With {
        env: Box<Expr>,
        body: Box<Expr>,
    },
    If {
        cond: Box<Expr>,
        then: Box<Expr>,
        else_: Box<Expr>,
    },
    Assert {
        cond: Box<Expr>,
        body: Box<Expr>,
    },
    Not(Box<Expr>),
    Binary {
        op: BinOp,
        lhs: Box<Expr>,
        rhs: Box<Expr>,
    },
    /// `a + b` and `./a/${b}` (`force_string == false`: the first part decides whether the
    /// result is a path, as in Nix's parser) or `"a${b}c"` / `''a${b}''` (`force_string == true`:
    /// every part is coerced to a string and the result is a string).
    ConcatStrings {
        force_string: bool,
        parts: Vec<Expr>,
    },
    /// `__curPos`: the position of this expression as `{ file, line, column }`.
    CurPos,
}

/// The operators that stay operators after desugaring (see the module comment).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinOp {
    Eq,
    NEq,
    And,
    Or,
    Impl,
    /// `//`
    Update,
    /// `++`
    ConcatLists,
}

#[derive(Clone, Debug)]
pub enum AttrName {
    Static(Name),
    /// `${e}` or a string with interpolation; a string key without interpolation is `Static`.
    Dynamic(Expr),
}

/// The bindings of an attribute set literal or a `let`.
#[derive(Clone, Debug)]
pub struct Attrs {
    pub rec: bool,
    /// Static bindings in source order of their first definition; names are unique.
    pub attrs: Vec<AttrDef>,
    /// `${k} = v;` bindings, in source order.
    pub dynamic: Vec<DynamicAttr>,
}

#[derive(Clone, Debug)]
pub struct AttrDef {
    pub name: Name,
    /// The span of the name where it was (first) defined. It starts where nix 2.8 positions
    /// the attribute (`unsafeGetAttrPos`, "already defined at"): at the start of the whole
    /// attribute path for `a.b = …;` (so `b` starts at `a`), and right after the `inherit`
    /// keyword, or after `(e)`, for every name of an `inherit`.
    pub name_span: Span,
    pub value: Expr,
    /// `inherit x;`: `value` is `Var(x)` and is looked up in the scope *outside* the set or `let`.
    pub inherited: bool,
}

#[derive(Clone, Debug)]
pub struct DynamicAttr {
    pub name: Expr,
    pub value: Expr,
}

#[derive(Clone, Debug)]
pub struct Lambda {
    /// `x:` or the `@x` of a pattern.
    pub arg: Option<Name>,
    pub formals: Option<Formals>,
    pub body: Expr,
}

#[derive(Clone, Debug)]
pub struct Formals {
    /// In source order; names are unique (a duplicate is a parse error, as in Nix).
    pub entries: Vec<Formal>,
    pub ellipsis: bool,
}

#[derive(Clone, Debug)]
pub struct Formal {
    pub name: Name,
    pub span: Span,
    pub default: Option<Expr>,
}
