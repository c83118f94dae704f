//! The evaluator's internal representation: the AST with every variable resolved.
//!
//! [`crate::compile`] turns an `ast::Expr` into this tree once per file. Variables bound by
//! `let`, `rec`, lambdas and the base environment become `(depth, index)` pairs or constants,
//! so evaluation never compares names except for `with` lookups, which stay dynamic because
//! the attribute set of a `with` is only known at run time. Constants are stored as [`Value`]s so
//! that putting one into a list or an attribute set allocates nothing.

use crate::symbol::Symbol;
use crate::value::Value;
use kiln_syntax::ast::BinOp;
use kiln_syntax::Span;
use std::rc::Rc;

pub(crate) struct Expr {
    pub(crate) span: Span,
    pub(crate) kind: ExprKind,
}

pub(crate) enum ExprKind {
    Const(Value),
    /// A variable bound `depth` environments up, in slot `index`.
    Local {
        depth: u32,
        index: u32,
        name: Symbol,
    },
    /// A variable not bound statically: searched in the `with` sets at these depths, innermost
    /// first.
    WithVar {
        name: Symbol,
        with_depths: Rc<[u32]>,
    },
    Select {
        expr: Rc<Expr>,
        path: Box<[AttrKey]>,
        default: Option<Rc<Expr>>,
    },
    HasAttr {
        expr: Rc<Expr>,
        path: Box<[AttrKey]>,
    },
    Attrs(Rc<AttrsDef>),
    List(Box<[Rc<Expr>]>),
    Lambda(Rc<Lambda>),
    Call {
        func: Rc<Expr>,
        args: Box<[Rc<Expr>]>,
    },
    /// A strict arithmetic builtin applied to exactly two arguments (`__sub`, `__lessThan`, ...):
    /// evaluated without allocating thunks for the operands.
    Arith {
        op: ArithOp,
        lhs: Rc<Expr>,
        rhs: Rc<Expr>,
    },
    /// `let`: a new environment holding `bindings`, then `body` in it. An inherited binding
    /// (`true`) is compiled in, and evaluated in, the scope outside the `let`.
    /// `fill_order` lists the slots in the order they are filled (see `compile::fill_order`).
    Let {
        bindings: Box<[(Rc<Expr>, bool)]>,
        fill_order: Box<[u32]>,
        body: Rc<Expr>,
    },
    With {
        env: Rc<Expr>,
        body: Rc<Expr>,
    },
    If {
        cond: Rc<Expr>,
        then: Rc<Expr>,
        else_: Rc<Expr>,
    },
    Assert {
        cond: Rc<Expr>,
        body: Rc<Expr>,
    },
    Not(Rc<Expr>),
    Binary {
        op: BinOp,
        lhs: Rc<Expr>,
        rhs: Rc<Expr>,
    },
    ConcatStrings {
        force_string: bool,
        parts: Box<[Rc<Expr>]>,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ArithOp {
    Sub,
    Mul,
    Div,
    LessThan,
}

#[derive(Clone)]
pub(crate) enum AttrKey {
    Static(Symbol),
    Dynamic(Rc<Expr>),
}

/// An attribute set literal. For `rec` sets a new environment holds every static binding, in
/// the order of `attrs`, and the values are evaluated in it.
pub(crate) struct AttrsDef {
    pub(crate) rec: bool,
    /// Sorted by name. Inherited values are compiled in the scope outside the set.
    pub(crate) attrs: Vec<StaticAttr>,
    /// For `rec`: the order in which the slots are filled (see `compile::fill_order`).
    pub(crate) fill_order: Box<[u32]>,
    pub(crate) dynamic: Vec<(Rc<Expr>, Rc<Expr>)>,
}

pub(crate) struct StaticAttr {
    pub(crate) name: Symbol,
    pub(crate) span: Span,
    pub(crate) value: Rc<Expr>,
    pub(crate) inherited: bool,
}

pub(crate) struct Lambda {
    /// The name of the binding the lambda was defined in, for messages.
    pub(crate) name: Option<Symbol>,
    pub(crate) span: Span,
    /// Slot 0 holds the argument when it is named (`x:` or `@x`); formals follow in order.
    pub(crate) has_arg: bool,
    /// The argument's name (`x:` or `@x`), for `toXML`.
    pub(crate) arg: Option<Symbol>,
    pub(crate) formals: Option<Formals>,
    pub(crate) body: Rc<Expr>,
    /// For `x: body`: evaluating `body` forces `x` before it evaluates anything else (see
    /// [`forces_first`]). A caller may then evaluate a cheap, infallible argument before the
    /// call instead of allocating a thunk for it: nothing can tell the difference.
    pub(crate) strict_arg: bool,
}

pub(crate) struct Formals {
    pub(crate) entries: Vec<Formal>,
    pub(crate) ellipsis: bool,
}

pub(crate) struct Formal {
    pub(crate) name: Symbol,
    /// Where the formal is written: `functionArgs` gives it as the attribute's position.
    pub(crate) span: Span,
    pub(crate) default: Option<Rc<Expr>>,
}

impl Lambda {
    pub(crate) fn n_slots(&self) -> usize {
        usize::from(self.has_arg) + self.formals.as_ref().map_or(0, |f| f.entries.len())
    }
}

/// Whether evaluating `expr` (in an environment `depth` levels below a lambda's) forces that
/// lambda's argument, slot 0, before it evaluates anything else. Conservative: `false` when
/// unsure. Only the first step of each construct counts: an `if`'s condition, an operator's
/// first operand (the second one when the first is a constant), a `let` or `with` body (their
/// bindings are only delayed), the set of a selection, the function of a call.
pub(crate) fn forces_first(expr: &Expr, depth: u32) -> bool {
    match &expr.kind {
        ExprKind::Local {
            depth: d, index, ..
        } => *d == depth && *index == 0,
        ExprKind::If { cond, .. } | ExprKind::Assert { cond, .. } => forces_first(cond, depth),
        ExprKind::Arith { lhs, rhs, .. } => {
            forces_first(lhs, depth)
                || (matches!(lhs.kind, ExprKind::Const(_)) && forces_first(rhs, depth))
        }
        ExprKind::ConcatStrings { parts, .. } => {
            parts.first().is_some_and(|p| forces_first(p, depth))
        }
        ExprKind::Binary { lhs, .. } => forces_first(lhs, depth),
        ExprKind::Not(e) => forces_first(e, depth),
        ExprKind::Select { expr, .. } | ExprKind::HasAttr { expr, .. } => forces_first(expr, depth),
        ExprKind::Call { func, .. } => forces_first(func, depth),
        ExprKind::Let { body, .. } | ExprKind::With { body, .. } => forces_first(body, depth + 1),
        _ => false,
    }
}
