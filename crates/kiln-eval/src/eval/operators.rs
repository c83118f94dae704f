//! The operators of the evaluator: arithmetic on evaluated integers, `+` and interpolation,
//! `==`, `&&`, `//`, `++` and the other binary operators, and the arguments a strict lambda can be
//! given evaluated. Split from `eval.rs`, which keeps the dispatch and the environments.

use super::{Env, Evaluator};
use crate::error::{EvalError, EvalResult};
use crate::ir::{self, ExprKind};
use crate::value::{ThunkState, Value};
use kiln_syntax::ast::BinOp;
use kiln_syntax::Span;
use std::rc::Rc;

/// An integer constant, or a variable whose value is an evaluated integer.
#[inline(always)]
fn evaluated_int(expr: &ir::Expr, env: &Rc<Env>) -> Option<i64> {
    match &expr.kind {
        ExprKind::Const(Value::Int(n)) => Some(*n),
        ExprKind::Local { depth, index, .. } => match env.up(*depth).get(*index)? {
            Value::Int(n) => Some(*n),
            Value::Thunk(t) => match &*t.0.borrow() {
                ThunkState::Done(Value::Int(n)) => Some(*n),
                _ => None,
            },
            _ => None,
        },
        _ => None,
    }
}

/// One part of an interpolation, coerced.
#[derive(Clone, Default)]
enum Piece {
    #[default]
    Empty,
    Str(crate::NixString),
    Int(i64),
}

impl Piece {
    fn len(&self) -> usize {
        match self {
            Piece::Empty => 0,
            Piece::Str(s) => s.as_str().len(),
            Piece::Int(n) => {
                n.unsigned_abs().checked_ilog10().unwrap_or(0) as usize + 1 + usize::from(*n < 0)
            }
        }
    }
}

impl Evaluator {
    /// A strict arithmetic builtin on two operands, with integer fast paths.
    pub(super) fn eval_arith(
        &mut self,
        op: ir::ArithOp,
        lhs: &Rc<ir::Expr>,
        rhs: &Rc<ir::Expr>,
        env: &Rc<Env>,
        span: Span,
    ) -> EvalResult<Value> {
        let lhs = self.eval_leaf(lhs, env)?;
        let rhs = self.eval_leaf(rhs, env)?;
        match (op, &lhs, &rhs) {
            (ir::ArithOp::Sub, Value::Int(a), Value::Int(b)) => Ok(Value::Int(a.wrapping_sub(*b))),
            (ir::ArithOp::Mul, Value::Int(a), Value::Int(b)) => Ok(Value::Int(a.wrapping_mul(*b))),
            (ir::ArithOp::LessThan, Value::Int(a), Value::Int(b)) => Ok(Value::Bool(a < b)),
            _ => self.arith(op, &lhs, &rhs).map_err(|e| e.at(span)),
        }
    }

    /// `+` and interpolation. Sums of numbers, the common case in arithmetic code, are added
    /// without collecting the operands first.
    pub(super) fn eval_concat(
        &mut self,
        force_string: bool,
        parts: &[Rc<ir::Expr>],
        env: &Rc<Env>,
        span: Span,
    ) -> EvalResult<Value> {
        let Some(first_expr) = parts.first() else {
            return Ok(Value::string(""));
        };
        let first = self.eval_leaf(first_expr, env)?;
        if !force_string {
            if let Value::Int(mut acc) = first {
                let mut rest = parts[1..].iter();
                for part in rest.by_ref() {
                    match self.eval_leaf(part, env)? {
                        Value::Int(n) => acc = acc.wrapping_add(n),
                        other => {
                            let mut values =
                                vec![(Value::Int(acc), first_expr.span), (other, part.span)];
                            for part in rest {
                                values.push((self.eval_leaf(part, env)?, part.span));
                            }
                            return self.concat_strings(false, &values).map_err(|e| e.at(span));
                        }
                    }
                }
                return Ok(Value::Int(acc));
            }
        }
        let is_string = match &first {
            Value::String(_) | Value::Attrs(_) => true,
            // `path + string` stays a path; `1.5 + 2` is a number.
            Value::Path(_) | Value::Int(_) | Value::Float(_) => force_string,
            _ => true,
        };
        if !is_string {
            let mut values = Vec::with_capacity(parts.len());
            values.push((first, first_expr.span));
            for part in &parts[1..] {
                values.push((self.eval_leaf(part, env)?, part.span));
            }
            return self
                .concat_strings(force_string, &values)
                .map_err(|e| e.at(span));
        }
        // `"${s}"` of a string is that string (strings have no identity to tell them apart).
        if let (Value::String(_), 1) = (&first, parts.len()) {
            return Ok(first);
        }
        // Each part is coerced as soon as it is evaluated, as Nix does (so a part that cannot be
        // coerced fails before later parts are evaluated), to a string that shares the text of
        // a string part; then the pieces are copied once into a buffer of their exact length.
        let coerce = crate::Coerce::Interpolation;
        let mut inline: [Piece; 4] = Default::default();
        let mut spilled: Vec<Piece>;
        let pieces: &mut [Piece] = if parts.len() <= inline.len() {
            &mut inline[..parts.len()]
        } else {
            spilled = vec![Piece::Empty; parts.len()];
            &mut spilled
        };
        pieces[0] = Piece::Str(
            self.coerce_to_string(&first, coerce)
                .map_err(|e| e.at(first_expr.span).at(span))?,
        );
        for (piece, part) in pieces[1..].iter_mut().zip(&parts[1..]) {
            // `${toString n}` of an integer already evaluated: its digits, without making a
            // string of them first (the most common interpolation of all).
            if let Some(n) = self.to_string_of_evaluated_int(part, env) {
                *piece = Piece::Int(n);
                continue;
            }
            let value = self.eval_leaf(part, env)?;
            *piece = Piece::Str(
                self.coerce_to_string(&value, coerce)
                    .map_err(|e| e.at(part.span).at(span))?,
            );
        }
        let len = pieces.iter().map(Piece::len).sum();
        let mut out = compact_str::CompactString::with_capacity(len);
        let mut context = None;
        for piece in pieces.iter() {
            match piece {
                Piece::Str(s) => {
                    out.push_str(s.as_str());
                    crate::NixString::merge_context(&mut context, s.context());
                }
                Piece::Int(n) => crate::ops::push_int(&mut out, *n),
                Piece::Empty => {}
            }
        }
        Ok(Value::String(crate::NixString::from_compact(out, context)))
    }

    /// `n` when `expr` is `toString x` (the builtin, not shadowed) and `x` a constant or a
    /// variable that is an evaluated integer: then the call can do nothing but give `n`'s digits.
    fn to_string_of_evaluated_int(&self, expr: &ir::Expr, env: &Rc<Env>) -> Option<i64> {
        let ExprKind::Call { func, args } = &expr.kind else {
            return None;
        };
        let (ExprKind::Const(Value::PrimOp(op)), [arg]) = (&func.kind, &**args) else {
            return None;
        };
        if op.name != "toString" {
            return None;
        }
        evaluated_int(arg, env)
    }

    /// The value of `expr` if it is integer arithmetic on integers already evaluated (`n - 1`):
    /// computed now, because that can neither fail nor have an effect. `None` for anything
    /// else. Only for the argument of a lambda that forces its argument first
    /// (`ir::Lambda::strict_arg`), where a thunk could never be seen unevaluated.
    pub(crate) fn eval_infallible(&self, expr: &ir::Expr, env: &Rc<Env>) -> Option<Value> {
        let int = |e: &ir::Expr| evaluated_int(e, env);
        match &expr.kind {
            ExprKind::Arith { op, lhs, rhs } => {
                let (a, b) = (int(lhs)?, int(rhs)?);
                match op {
                    ir::ArithOp::Sub => Some(Value::Int(a.wrapping_sub(b))),
                    ir::ArithOp::Mul => Some(Value::Int(a.wrapping_mul(b))),
                    ir::ArithOp::LessThan => Some(Value::Bool(a < b)),
                    ir::ArithOp::Div => {
                        (b != 0 && !(a == i64::MIN && b == -1)).then(|| Value::Int(a / b))
                    }
                }
            }
            ExprKind::ConcatStrings {
                force_string: false,
                parts,
            } if !parts.is_empty() => {
                let mut sum = 0i64;
                for part in parts.iter() {
                    sum = sum.wrapping_add(int(part)?);
                }
                Some(Value::Int(sum))
            }
            _ => None,
        }
    }

    pub(super) fn eval_binary(
        &mut self,
        op: BinOp,
        lhs: &Rc<ir::Expr>,
        rhs: &Rc<ir::Expr>,
        env: &Rc<Env>,
        span: Span,
    ) -> EvalResult<Value> {
        let bool_of = |ev: &mut Evaluator, e: &Rc<ir::Expr>| -> EvalResult<bool> {
            match ev.eval_leaf(e, env)? {
                Value::Bool(b) => Ok(b),
                other => Err(EvalError::type_error("a Boolean", &other).at(e.span)),
            }
        };
        match op {
            BinOp::Eq | BinOp::NEq => {
                let a = self.eval_leaf(lhs, env)?;
                let b = self.eval_leaf(rhs, env)?;
                // Both are evaluated already; the comparisons with `null` that library code is
                // full of need no further step.
                let eq = match (&a, &b) {
                    // A constant may be a thunk (a builtin that is not available): forced below.
                    (Value::Thunk(_), _) | (_, Value::Thunk(_)) => {
                        self.equal(&a, &b).map_err(|e| e.at(span))?
                    }
                    (Value::Null, other) | (other, Value::Null) => matches!(other, Value::Null),
                    _ => self.equal_forced(a, b).map_err(|e| e.at(span))?,
                };
                Ok(Value::Bool(eq == (op == BinOp::Eq)))
            }
            BinOp::And => Ok(Value::Bool(bool_of(self, lhs)? && bool_of(self, rhs)?)),
            BinOp::Or => Ok(Value::Bool(bool_of(self, lhs)? || bool_of(self, rhs)?)),
            BinOp::Impl => Ok(Value::Bool(!bool_of(self, lhs)? || bool_of(self, rhs)?)),
            BinOp::Update => {
                let a = self.eval_leaf(lhs, env)?;
                let a = match a {
                    Value::Attrs(a) => a,
                    other => return Err(EvalError::type_error("a set", &other).at(lhs.span)),
                };
                let b = match self.eval_leaf(rhs, env)? {
                    Value::Attrs(b) => b,
                    other => return Err(EvalError::type_error("a set", &other).at(rhs.span)),
                };
                Ok(Value::Attrs(a.update(&b)))
            }
            BinOp::ConcatLists => {
                let a = match self.eval_leaf(lhs, env)? {
                    Value::List(a) => a,
                    other => return Err(EvalError::type_error("a list", &other).at(lhs.span)),
                };
                let b = match self.eval_leaf(rhs, env)? {
                    Value::List(b) => b,
                    other => return Err(EvalError::type_error("a list", &other).at(rhs.span)),
                };
                if a.is_empty() {
                    return Ok(Value::List(b));
                }
                if b.is_empty() {
                    return Ok(Value::List(a));
                }
                let mut items = Vec::with_capacity(a.len() + b.len());
                items.extend_from_slice(a.items());
                items.extend_from_slice(b.items());
                Ok(Value::list(items))
            }
        }
    }
}
