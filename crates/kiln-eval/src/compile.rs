//! AST to IR: resolves every variable to an environment slot, a constant or a `with` lookup.
//!
//! Scoping follows Nix: `let`, `rec`, lambda arguments and the base environment are static
//! scopes; a variable bound in any of them wins over every enclosing `with`, however deep the
//! `with` is. Only names bound nowhere statically are looked up in the `with` sets at run time,
//! innermost first.

use crate::error::{ErrorKind, EvalError, EvalResult};
use crate::ir::{self, ArithOp, AttrKey, AttrsDef, ExprKind, StaticAttr};
use crate::symbol::Symbol;
use crate::value::{AttrEntry, Attrs, Value};
use kiln_syntax::ast;
use kiln_syntax::{SourceMap, Span};
use std::collections::HashMap;
use std::rc::Rc;

/// The base environment: the values of the global names.
pub(crate) type Globals = HashMap<Symbol, Value>;

enum Scope {
    Static(HashMap<Symbol, u32>),
    With,
}

struct Compiler<'a> {
    globals: &'a Globals,
    sources: &'a SourceMap,
    scopes: Vec<Scope>,
}

/// Compiles `expr` in the base environment, inside an outermost static scope binding `scope`
/// to slots in order (empty except for `scopedImport`, whose names shadow the base
/// environment as in Nix).
pub(crate) fn compile(
    expr: &ast::Expr,
    globals: &Globals,
    sources: &SourceMap,
    scope: &[Symbol],
) -> EvalResult<Rc<ir::Expr>> {
    let mut compiler = Compiler {
        globals,
        sources,
        scopes: Vec::new(),
    };
    compiler.scopes.push(Scope::Static(
        scope
            .iter()
            .enumerate()
            .map(|(i, name)| (*name, i as u32))
            .collect(),
    ));
    compiler.expr(expr, None)
}

fn node(span: Span, kind: ExprKind) -> Rc<ir::Expr> {
    Rc::new(ir::Expr { span, kind })
}

impl Compiler<'_> {
    /// `name` is the binding the expression is the value of, to name lambdas in messages.
    fn expr(&mut self, expr: &ast::Expr, name: Option<Symbol>) -> EvalResult<Rc<ir::Expr>> {
        stacker::maybe_grow(64 * 1024, 1024 * 1024, || self.expr_inner(expr, name))
    }

    fn expr_inner(&mut self, expr: &ast::Expr, name: Option<Symbol>) -> EvalResult<Rc<ir::Expr>> {
        let span = expr.span;
        let kind = match &expr.kind {
            ast::ExprKind::Int(n) => ExprKind::Const(Value::Int(*n)),
            ast::ExprKind::Float(x) => ExprKind::Const(Value::Float(*x)),
            ast::ExprKind::Str(s) => ExprKind::Const(Value::string(&**s)),
            ast::ExprKind::Path(p) => ExprKind::Const(Value::path(&**p)),
            ast::ExprKind::Var(name) => self.var(name, span)?,
            ast::ExprKind::Select {
                expr,
                path,
                default,
            } => {
                let target = self.expr(expr, None)?;
                let path = self.path(path)?;
                match fold_select(&target, &path) {
                    (Some(value), []) => ExprKind::Const(value),
                    (Some(value), rest) => ExprKind::Select {
                        expr: node(expr.span, ExprKind::Const(value)),
                        path: rest.to_vec().into_boxed_slice(),
                        default: default.as_ref().map(|d| self.expr(d, None)).transpose()?,
                    },
                    (None, _) => ExprKind::Select {
                        expr: target,
                        path,
                        default: default.as_ref().map(|d| self.expr(d, None)).transpose()?,
                    },
                }
            }
            ast::ExprKind::HasAttr { expr, path } => ExprKind::HasAttr {
                expr: self.expr(expr, None)?,
                path: self.path(path)?,
            },
            ast::ExprKind::Attrs(attrs) => ExprKind::Attrs(self.attrs(attrs)?),
            ast::ExprKind::List(items) => ExprKind::List(
                items
                    .iter()
                    .map(|e| self.expr(e, None))
                    .collect::<EvalResult<_>>()?,
            ),
            ast::ExprKind::Lambda(lambda) => ExprKind::Lambda(self.lambda(lambda, name, span)?),
            ast::ExprKind::Call { func, args } => self.call(func, args)?,
            ast::ExprKind::Let { attrs, body } => self.let_(attrs, body)?,
            ast::ExprKind::With { env, body } => {
                let env = self.expr(env, None)?;
                self.scopes.push(Scope::With);
                let body = self.expr(body, None);
                self.scopes.pop();
                ExprKind::With { env, body: body? }
            }
            ast::ExprKind::If { cond, then, else_ } => ExprKind::If {
                cond: self.expr(cond, None)?,
                then: self.expr(then, None)?,
                else_: self.expr(else_, None)?,
            },
            ast::ExprKind::Assert { cond, body } => ExprKind::Assert {
                cond: self.expr(cond, None)?,
                body: self.expr(body, None)?,
            },
            ast::ExprKind::Not(e) => ExprKind::Not(self.expr(e, None)?),
            ast::ExprKind::Binary { op, lhs, rhs } => ExprKind::Binary {
                op: *op,
                lhs: self.expr(lhs, None)?,
                rhs: self.expr(rhs, None)?,
            },
            ast::ExprKind::ConcatStrings {
                force_string,
                parts,
            } => ExprKind::ConcatStrings {
                force_string: *force_string,
                parts: parts
                    .iter()
                    .map(|e| self.expr(e, None))
                    .collect::<EvalResult<_>>()?,
            },
            ast::ExprKind::CurPos => ExprKind::Const(self.cur_pos(span)),
        };
        Ok(node(span, kind))
    }

    fn var(&mut self, name: &str, span: Span) -> EvalResult<ExprKind> {
        let sym = Symbol::intern(name);
        let mut with_depths = Vec::new();
        for (depth, scope) in self.scopes.iter().rev().enumerate() {
            match scope {
                Scope::Static(names) => {
                    if let Some(&index) = names.get(&sym) {
                        return Ok(ExprKind::Local {
                            depth: depth as u32,
                            index,
                            name: sym,
                        });
                    }
                }
                Scope::With => with_depths.push(depth as u32),
            }
        }
        if let Some(value) = self.globals.get(&sym) {
            return Ok(ExprKind::Const(value.clone()));
        }
        if with_depths.is_empty() {
            return Err(EvalError::new(ErrorKind::UndefinedVar {
                name: name.to_string(),
            })
            .at(span));
        }
        Ok(ExprKind::WithVar {
            name: sym,
            with_depths: with_depths.into(),
        })
    }

    fn path(&mut self, path: &[ast::AttrName]) -> EvalResult<Box<[AttrKey]>> {
        path.iter()
            .map(|key| {
                Ok(match key {
                    ast::AttrName::Static(name) => AttrKey::Static(Symbol::intern(name)),
                    ast::AttrName::Dynamic(e) => AttrKey::Dynamic(self.expr(e, None)?),
                })
            })
            .collect()
    }

    fn call(&mut self, func: &ast::Expr, args: &[ast::Expr]) -> EvalResult<ExprKind> {
        let func = self.expr(func, None)?;
        let args: Box<[Rc<ir::Expr>]> = args
            .iter()
            .map(|e| self.expr(e, None))
            .collect::<EvalResult<_>>()?;
        if let (ExprKind::Const(Value::PrimOp(op)), [lhs, rhs]) = (&func.kind, &*args) {
            let arith = match op.name {
                "sub" => Some(ArithOp::Sub),
                "mul" => Some(ArithOp::Mul),
                "div" => Some(ArithOp::Div),
                "lessThan" => Some(ArithOp::LessThan),
                _ => None,
            };
            if let Some(op) = arith {
                return Ok(ExprKind::Arith {
                    op,
                    lhs: lhs.clone(),
                    rhs: rhs.clone(),
                });
            }
        }
        Ok(ExprKind::Call { func, args })
    }

    /// The names a `let` or `rec` set binds, in slot order (sorted, as `AttrsDef::attrs`).
    fn bind_scope(attrs: &[StaticAttr]) -> Scope {
        Scope::Static(
            attrs
                .iter()
                .enumerate()
                .map(|(i, a)| (a.name, i as u32))
                .collect(),
        )
    }

    /// Compiles the static bindings, sorted by name. Inherited values are compiled in the
    /// scope outside the set; the others in the current scope (the set's own for `rec`).
    fn static_attrs(&mut self, attrs: &ast::Attrs, rec: bool) -> EvalResult<Vec<StaticAttr>> {
        let mut sorted: Vec<&ast::AttrDef> = attrs.attrs.iter().collect();
        sorted.sort_by(|a, b| a.name.cmp(&b.name));
        let mut out = Vec::with_capacity(sorted.len());
        let mut scope_names = None;
        if rec {
            let mut names: Vec<Symbol> = sorted.iter().map(|a| Symbol::intern(&a.name)).collect();
            names.dedup();
            scope_names = Some(names);
        }
        if let Some(names) = &scope_names {
            self.scopes.push(Scope::Static(
                names
                    .iter()
                    .enumerate()
                    .map(|(i, n)| (*n, i as u32))
                    .collect(),
            ));
        }
        let mut result = Ok(());
        for def in sorted {
            let name = Symbol::intern(&def.name);
            let value = if def.inherited && rec {
                let scope = self.scopes.pop();
                let value = self.expr(&def.value, Some(name));
                if let Some(scope) = scope {
                    self.scopes.push(scope);
                }
                value
            } else {
                self.expr(&def.value, Some(name))
            };
            match value {
                Ok(value) => out.push(StaticAttr {
                    name,
                    span: def.name_span,
                    value,
                    inherited: def.inherited,
                }),
                Err(e) => {
                    result = Err(e);
                    break;
                }
            }
        }
        if scope_names.is_some() {
            self.scopes.pop();
        }
        result.map(|()| out)
    }

    fn attrs(&mut self, attrs: &ast::Attrs) -> EvalResult<Rc<AttrsDef>> {
        let statics = self.static_attrs(attrs, attrs.rec)?;
        if attrs.rec {
            self.scopes.push(Self::bind_scope(&statics));
        }
        let dynamic = attrs
            .dynamic
            .iter()
            .map(|d| Ok((self.expr(&d.name, None)?, self.expr(&d.value, None)?)))
            .collect::<EvalResult<Vec<_>>>();
        if attrs.rec {
            self.scopes.pop();
        }
        Ok(Rc::new(AttrsDef {
            rec: attrs.rec,
            fill_order: fill_order(attrs, &statics),
            attrs: statics,
            dynamic: dynamic?,
        }))
    }

    fn let_(&mut self, attrs: &ast::Attrs, body: &ast::Expr) -> EvalResult<ExprKind> {
        let statics = self.static_attrs(attrs, true)?;
        self.scopes.push(Self::bind_scope(&statics));
        let body = self.expr(body, None);
        self.scopes.pop();
        let fill_order = fill_order(attrs, &statics);
        Ok(ExprKind::Let {
            bindings: statics
                .into_iter()
                .map(|a| (a.value, a.inherited))
                .collect(),
            fill_order,
            body: body?,
        })
    }

    fn lambda(
        &mut self,
        lambda: &ast::Lambda,
        name: Option<Symbol>,
        span: Span,
    ) -> EvalResult<Rc<ir::Lambda>> {
        let mut names = HashMap::new();
        let has_arg = lambda.arg.is_some();
        if let Some(arg) = &lambda.arg {
            names.insert(Symbol::intern(arg), 0);
        }
        if let Some(formals) = &lambda.formals {
            for (i, formal) in formals.entries.iter().enumerate() {
                names.insert(
                    Symbol::intern(&formal.name),
                    (i + usize::from(has_arg)) as u32,
                );
            }
        }
        self.scopes.push(Scope::Static(names));
        let result = (|| {
            let formals = match &lambda.formals {
                None => None,
                Some(formals) => Some(ir::Formals {
                    ellipsis: formals.ellipsis,
                    entries: formals
                        .entries
                        .iter()
                        .map(|f| {
                            Ok(ir::Formal {
                                name: Symbol::intern(&f.name),
                                span: f.span,
                                default: f
                                    .default
                                    .as_ref()
                                    .map(|d| self.expr(d, None))
                                    .transpose()?,
                            })
                        })
                        .collect::<EvalResult<_>>()?,
                }),
            };
            let body = self.expr(&lambda.body, None)?;
            let arg = lambda.arg.as_ref().map(|arg| Symbol::intern(arg));
            let strict_arg = formals.is_none() && has_arg && ir::forces_first(&body, 0);
            Ok(Rc::new(ir::Lambda {
                name,
                span,
                has_arg,
                arg,
                formals,
                body,
                strict_arg,
            }))
        })();
        self.scopes.pop();
        result
    }

    /// `__curPos` as Nix gives it: `{ column, file, line }`.
    fn cur_pos(&self, span: Span) -> Value {
        pos_value(self.sources, span)
    }
}

/// Selections from a constant set that can be made at compile time: `builtins.match` becomes
/// the primop itself. Returns the value reached and the rest of the path, or `None` when not
/// even the first step can be taken. A step is taken only when its name is static, the
/// attribute exists and its value is evaluated already: then selecting it at run time could
/// neither fail nor do anything else, so doing it once here is invisible (and saves a search
/// of the `builtins` set, whose hundred-odd names made `builtins.match` cost as much as the
/// match).
fn fold_select<'p>(target: &ir::Expr, path: &'p [AttrKey]) -> (Option<Value>, &'p [AttrKey]) {
    let ExprKind::Const(start) = &target.kind else {
        return (None, path);
    };
    let mut value = start.clone();
    let mut taken = 0;
    for key in path {
        let (AttrKey::Static(name), Value::Attrs(attrs)) = (key, &value) else {
            break;
        };
        let next = match attrs.get(*name) {
            Some(Value::Thunk(thunk)) => match thunk.value() {
                Some(v) => v,
                None => break,
            },
            Some(v) => v.clone(),
            None => break,
        };
        value = next;
        taken += 1;
    }
    match taken {
        0 => (None, path),
        n => (Some(value), &path[n..]),
    }
}

/// The slots of a `let` or `rec` set in the order Nix fills them: the order of its symbol
/// table, which is (nearly always) the source order of the definitions. A binding that is a
/// variable of an already filled slot shares that slot's value instead of getting a thunk,
/// which `nix-instantiate --eval` shows (`rec { a = 1; b = a; }` prints `b = 1`).
fn fill_order(attrs: &ast::Attrs, statics: &[StaticAttr]) -> Box<[u32]> {
    attrs
        .attrs
        .iter()
        .filter_map(|def| {
            let name = Symbol::intern(&def.name);
            statics
                .iter()
                .position(|a| a.name == name)
                .map(|i| i as u32)
        })
        .collect()
}

/// A position as the attribute set `{ column; file; line; }`, for `__curPos` and
/// `unsafeGetAttrPos`.
pub fn pos_value(sources: &SourceMap, span: Span) -> Value {
    let (line, column) = sources.line_col(span.file, span.start);
    let file = &sources.get(span.file).name;
    Value::Attrs(Attrs::from_entries(vec![
        AttrEntry {
            name: Symbol::intern("column"),
            value: Value::Int(column.into()),
            pos: None,
        },
        AttrEntry {
            name: Symbol::intern("file"),
            value: Value::string(file.clone()),
            pos: None,
        },
        AttrEntry {
            name: Symbol::intern("line"),
            value: Value::Int(line.into()),
            pos: None,
        },
    ]))
}
