//! The static scope check `nix-instantiate --parse` performs (Nix's `bindVars`): a variable
//! that is bound neither by an enclosing `let`, `rec` set or function, nor by the base
//! environment, is an error unless some `with` encloses it.
//!
//! The check walks the AST once with a stack of scopes; a `with` scope matches every name, so
//! an enclosing `with` makes any variable acceptable, as in Nix.

use crate::ast::{AttrName, Attrs, Expr, ExprKind};
use crate::base_env::BASE_ENV_NAMES;
use crate::error::{SyntaxError, SyntaxErrorKind};
use crate::span::SourceMap;
use std::collections::HashSet;

/// Reports the first variable (in evaluation-binding order) that no scope defines.
pub fn check_scopes(sources: &SourceMap, expr: &Expr) -> Result<(), SyntaxError> {
    let base: HashSet<&str> = BASE_ENV_NAMES.iter().copied().collect();
    let mut checker = Checker {
        base,
        scopes: Vec::new(),
        withs: 0,
    };
    match checker.check(expr) {
        Ok(()) => Ok(()),
        Err(var) => {
            let ExprKind::Var(name) = &var.kind else {
                unreachable!("only variables are undefined")
            };
            Err(SyntaxError::new(
                sources,
                SyntaxErrorKind::UndefinedVariable,
                var.span,
                format!("undefined variable '{name}'"),
                "not bound by any enclosing `let`, `rec`, function or `with`",
            ))
        }
    }
}

struct Checker<'e> {
    base: HashSet<&'static str>,
    /// Names bound by enclosing `let`s, `rec` sets and functions, innermost last.
    scopes: Vec<Vec<&'e str>>,
    /// How many `with`s enclose the current expression.
    withs: usize,
}

impl<'e> Checker<'e> {
    fn check(&mut self, expr: &'e Expr) -> Result<(), &'e Expr> {
        match &expr.kind {
            ExprKind::Int(_)
            | ExprKind::Float(_)
            | ExprKind::Str(_)
            | ExprKind::Path(_)
            | ExprKind::CurPos => Ok(()),
            ExprKind::Var(name) => {
                let bound = self.withs > 0
                    || self
                        .scopes
                        .iter()
                        .rev()
                        .any(|scope| scope.iter().any(|n| *n == &**name))
                    || self.base.contains(&**name);
                if bound {
                    Ok(())
                } else {
                    Err(expr)
                }
            }
            ExprKind::Select {
                expr,
                path,
                default,
            } => {
                self.check(expr)?;
                if let Some(default) = default {
                    self.check(default)?;
                }
                self.check_path(path)
            }
            ExprKind::HasAttr { expr, path } => {
                self.check(expr)?;
                self.check_path(path)
            }
            ExprKind::Attrs(attrs) => self.check_attrs(attrs, attrs.rec),
            ExprKind::List(elems) => elems.iter().try_for_each(|elem| self.check(elem)),
            ExprKind::Lambda(lambda) => {
                let mut names: Vec<&'e str> = Vec::new();
                if let Some(arg) = &lambda.arg {
                    names.push(arg);
                }
                if let Some(formals) = &lambda.formals {
                    names.extend(formals.entries.iter().map(|formal| &*formal.name));
                }
                self.scopes.push(names);
                let res = (|| {
                    if let Some(formals) = &lambda.formals {
                        for formal in &formals.entries {
                            if let Some(default) = &formal.default {
                                self.check(default)?;
                            }
                        }
                    }
                    self.check(&lambda.body)
                })();
                self.scopes.pop();
                res
            }
            ExprKind::Call { func, args } => {
                self.check(func)?;
                args.iter().try_for_each(|arg| self.check(arg))
            }
            ExprKind::Let { attrs, body } => {
                self.scopes
                    .push(attrs.attrs.iter().map(|def| &*def.name).collect());
                let res = self.check_bindings(attrs).and_then(|()| self.check(body));
                self.scopes.pop();
                res
            }
            ExprKind::With { env, body } => {
                self.check(env)?;
                self.withs += 1;
                let res = self.check(body);
                self.withs -= 1;
                res
            }
            ExprKind::If { cond, then, else_ } => {
                self.check(cond)?;
                self.check(then)?;
                self.check(else_)
            }
            ExprKind::Assert { cond, body } => {
                self.check(cond)?;
                self.check(body)
            }
            ExprKind::Not(inner) => self.check(inner),
            ExprKind::Binary { lhs, rhs, .. } => {
                self.check(lhs)?;
                self.check(rhs)
            }
            ExprKind::ConcatStrings { parts, .. } => {
                parts.iter().try_for_each(|part| self.check(part))
            }
        }
    }

    fn check_path(&mut self, path: &'e [AttrName]) -> Result<(), &'e Expr> {
        for elem in path {
            if let AttrName::Dynamic(expr) = elem {
                self.check(expr)?;
            }
        }
        Ok(())
    }

    fn check_attrs(&mut self, attrs: &'e Attrs, rec: bool) -> Result<(), &'e Expr> {
        if !rec {
            return self.check_bindings_in(attrs, false);
        }
        self.scopes
            .push(attrs.attrs.iter().map(|def| &*def.name).collect());
        let res = self.check_bindings(attrs);
        self.scopes.pop();
        res
    }

    /// The values of a `let` or `rec` set, whose scope is already pushed.
    fn check_bindings(&mut self, attrs: &'e Attrs) -> Result<(), &'e Expr> {
        self.check_bindings_in(attrs, true)
    }

    /// `inherit x;` looks `x` up outside the set's own scope.
    fn check_bindings_in(
        &mut self,
        attrs: &'e Attrs,
        own_scope_pushed: bool,
    ) -> Result<(), &'e Expr> {
        for def in &attrs.attrs {
            if def.inherited && own_scope_pushed {
                let own = self.scopes.pop();
                let res = self.check(&def.value);
                if let Some(own) = own {
                    self.scopes.push(own);
                }
                res?;
            } else {
                self.check(&def.value)?;
            }
        }
        for dynamic in &attrs.dynamic {
            self.check(&dynamic.name)?;
            self.check(&dynamic.value)?;
        }
        Ok(())
    }
}
