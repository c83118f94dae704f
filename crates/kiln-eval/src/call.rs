//! Function application: lambdas (plain and with set patterns), builtins with partial
//! application, and sets with `__functor`; plus the "did you mean" suggestions that the errors
//! of calls and attribute selection carry.

use crate::error::{ErrorKind, EvalError, EvalResult};
use crate::eval::Env;
use crate::ir::ExprKind;
use crate::value::{PrimOpApp, Value};
use crate::Evaluator;
use std::rc::Rc;

impl Evaluator {
    /// Applies `func` to one argument.
    pub fn call(&mut self, func: &Value, arg: Value) -> EvalResult<Value> {
        if let Value::Lambda(closure) = func {
            return self.call_lambda(&closure.lambda, &closure.env, arg);
        }
        let func = self.force(func)?;
        match &func {
            Value::Lambda(closure) => self.call_lambda(&closure.lambda, &closure.env, arg),
            Value::PrimOp(op) => {
                if op.arity == 1 {
                    // `from_ref`, not `&[arg]`: copying `arg` into a new array read it with one
                    // load of 16 bytes just after the caller wrote it as two words (a
                    // store-forwarding stall on a third of the samples of `call`).
                    self.call_builtin(op, std::slice::from_ref(&arg))
                } else {
                    Ok(Value::PrimOpApp(Rc::new(PrimOpApp {
                        op,
                        args: vec![arg],
                    })))
                }
            }
            Value::PrimOpApp(app) => {
                let mut args = Vec::with_capacity(app.args.len() + 1);
                args.extend_from_slice(&app.args);
                args.push(arg);
                if args.len() == app.op.arity {
                    self.call_builtin(app.op, &args)
                } else {
                    Ok(Value::PrimOpApp(Rc::new(PrimOpApp { op: app.op, args })))
                }
            }
            Value::Attrs(attrs) => match attrs.get(self.syms.functor) {
                Some(functor) => {
                    let functor = functor.clone();
                    let partial = self.call(&functor, func.clone())?;
                    self.call(&partial, arg)
                }
                None => Err(EvalError::new(ErrorKind::NotAFunction {
                    got: func.type_phrase(),
                })),
            },
            other => Err(EvalError::new(ErrorKind::NotAFunction {
                got: other.type_phrase(),
            })),
        }
    }

    /// Applies `func` to `a` and then the result to `b`, as builtins call their two-argument
    /// callbacks (`foldl'`, `sort`). A lambda `a: b: …` is applied to both without building the
    /// closure of `b: …` in between (see `eval_call`).
    pub fn call2(&mut self, func: &Value, a: Value, b: Value) -> EvalResult<Value> {
        if let Value::Lambda(closure) = func {
            if let (None, ExprKind::Lambda(inner)) =
                (&closure.lambda.formals, &closure.lambda.body.kind)
            {
                let env = Env::one(a, &closure.env);
                return self.call_lambda(inner, &env, b);
            }
        }
        let partial = self.call(func, a)?;
        self.call(&partial, b)
    }

    /// `f a b …` written in the source: `f` (evaluated) applied to the argument expressions in
    /// `env`, one at a time, with two shortcuts that nothing can observe.
    /// - A builtin given all its arguments at once is called with them directly: the partial
    ///   applications in between (`<PRIMOP-APP>`s, a vector and an `Rc` each) are never seen.
    /// - A curried lambda `a: b: …` applied to more arguments does not build the closure of its
    ///   inner lambda: the inner lambda is applied at once, in the environment binding `a`.
    ///   Building that closure was the only step between the two calls, and it cannot fail.
    pub(crate) fn eval_call(
        &mut self,
        mut f: Value,
        mut args: &[Rc<crate::ir::Expr>],
        env: &Rc<Env>,
        span: kiln_syntax::Span,
    ) -> EvalResult<Value> {
        while let Some((arg, rest)) = args.split_first() {
            match &f {
                Value::PrimOp(op) if op.arity >= 2 && op.arity <= args.len() => {
                    let op = *op;
                    f = self
                        .call_primop_direct(op, args, env)
                        .map_err(|e| e.at(span))?;
                    args = &args[op.arity..];
                }
                Value::Lambda(closure)
                    if rest.is_empty()
                        || closure.lambda.formals.is_some()
                        || !matches!(closure.lambda.body.kind, ExprKind::Lambda(_)) =>
                {
                    // One argument for this lambda: applied with the closure borrowed.
                    args = rest;
                    let value = self.lambda_arg(&closure.lambda, arg, env);
                    let result = self.call_lambda(&closure.lambda, &closure.env, value);
                    f = result.map_err(|e| e.at(span))?;
                }
                Value::Lambda(closure) => {
                    let mut lambda = closure.lambda.clone();
                    let mut lambda_env = closure.env.clone();
                    args = rest;
                    let mut arg = arg;
                    loop {
                        let value = self.lambda_arg(&lambda, arg, env);
                        match (&lambda.body.kind, args.split_first()) {
                            (ExprKind::Lambda(inner), Some((next, rest)))
                                if lambda.formals.is_none() =>
                            {
                                lambda_env = Env::one(value, &lambda_env);
                                lambda = inner.clone();
                                arg = next;
                                args = rest;
                            }
                            _ => {
                                f = self
                                    .call_lambda(&lambda, &lambda_env, value)
                                    .map_err(|e| e.at(span))?;
                                break;
                            }
                        }
                    }
                }
                _ => {
                    args = rest;
                    let value = self.delay(arg, env);
                    f = self.call(&f, value).map_err(|e| e.at(span))?;
                }
            }
        }
        Ok(f)
    }

    /// The argument `arg` (an expression in `env`) as passed to `lambda`: computed now when the
    /// lambda forces it first and it is cheap and infallible (`ir::Lambda::strict_arg`),
    /// else delayed.
    #[inline(always)]
    fn lambda_arg(
        &self,
        lambda: &crate::ir::Lambda,
        arg: &Rc<crate::ir::Expr>,
        env: &Rc<Env>,
    ) -> Value {
        if lambda.strict_arg {
            if let Some(v) = self.eval_infallible(arg, env) {
                return v;
            }
        }
        self.delay(arg, env)
    }

    fn call_builtin(&mut self, op: &'static crate::Builtin, args: &[Value]) -> EvalResult<Value> {
        self.enter(|ev| (op.func)(ev, args))
            .map_err(|e| e.frame(None, || format!("while calling `{}`", op.name)))
    }

    /// Calls builtin `op` of arity 2 or 3 with the first `op.arity` of `args`, delayed in
    /// `env`: what applying it to them one by one gives, without the partial applications.
    pub(crate) fn call_primop_direct(
        &mut self,
        op: &'static crate::Builtin,
        args: &[Rc<crate::ir::Expr>],
        env: &Rc<Env>,
    ) -> EvalResult<Value> {
        match (op.arity, args) {
            (2, [a, b, ..]) => {
                let argv = [self.delay(a, env), self.delay(b, env)];
                self.call_builtin(op, &argv)
            }
            (3, [a, b, c, ..]) => {
                let argv = [self.delay(a, env), self.delay(b, env), self.delay(c, env)];
                self.call_builtin(op, &argv)
            }
            _ => Err(EvalError::bug(format!(
                "`{}` called directly with {} arguments",
                op.name,
                args.len()
            ))),
        }
    }

    /// Applies `lambda`, closed over `closure_env`, to `arg`.
    fn call_lambda(
        &mut self,
        lambda: &Rc<crate::ir::Lambda>,
        closure_env: &Rc<Env>,
        arg: Value,
    ) -> EvalResult<Value> {
        let fn_name = || lambda.name.map(|n| n.to_string());
        if lambda.formals.is_none() {
            if let Some(result) = self.eval_trivial_body(&lambda.body, closure_env, &arg) {
                return result.map_err(|e| match lambda.name {
                    Some(name) => e.frame(Some(lambda.span), || format!("while calling `{name}`")),
                    None => e,
                });
            }
        }
        let env = match &lambda.formals {
            None => Env::one(arg, closure_env),
            Some(formals) => {
                let attrs = self.force_attrs(&arg)?;
                let env = Env::empty_slots(lambda.n_slots(), closure_env);
                let mut defaulted = false;
                let offset = usize::from(lambda.has_arg);
                if lambda.has_arg {
                    env.set(0, Value::Attrs(attrs.clone()));
                }
                for (i, formal) in formals.entries.iter().enumerate() {
                    let value = match attrs.get(formal.name) {
                        Some(v) => v.clone(),
                        None => match &formal.default {
                            Some(default) => {
                                defaulted = true;
                                self.delay_rec(default, &env)
                            }
                            None => {
                                return Err(EvalError::new(ErrorKind::MissingArgument {
                                    name: formal.name.to_string(),
                                    function: fn_name(),
                                    at: Some(crate::message_position(&self.sources, lambda.span)),
                                })
                                .frame(Some(lambda.span), || {
                                    "while calling this function".into()
                                }));
                            }
                        },
                    };
                    env.set(offset + i, value);
                }
                // A default may refer to the environment it is stored in (see `gc.rs`).
                if defaulted {
                    self.register_env(&env);
                }
                if !formals.ellipsis {
                    for entry in attrs.iter() {
                        if !formals.entries.iter().any(|f| f.name == entry.name) {
                            let suggestions = suggest(
                                entry.name.as_str(),
                                formals.entries.iter().map(|f| f.name.as_str()),
                            );
                            return Err(EvalError::new(ErrorKind::UnexpectedArgument {
                                name: entry.name.to_string(),
                                function: fn_name(),
                                at: Some(crate::message_position(&self.sources, lambda.span)),
                                suggestions,
                            })
                            .frame(Some(lambda.span), || "while calling this function".into()));
                        }
                    }
                }
                env
            }
        };
        // A body that is a variable or a constant needs no evaluation step of its own.
        let result = self
            .eval_leaf(&lambda.body, &env)
            .map_err(|e| match lambda.name {
                Some(name) => e.frame(Some(lambda.span), || format!("while calling `{name}`")),
                None => e,
            });
        if lambda.formals.is_some() {
            crate::gc::release_env(&env);
        }
        result
    }
}

impl Evaluator {
    /// The body of `x: body` when it is a constant or a variable (`x: x`, `_: null`, `x: y`):
    /// read without allocating the environment that would hold `x`, with the same result and
    /// the same error as `eval_leaf` in that environment. `None` for any other body.
    fn eval_trivial_body(
        &mut self,
        body: &crate::ir::Expr,
        closure_env: &Rc<Env>,
        arg: &Value,
    ) -> Option<EvalResult<Value>> {
        let slot = match &body.kind {
            ExprKind::Const(v) => return Some(Ok(v.clone())),
            ExprKind::Local {
                depth: 0, index: 0, ..
            } => arg,
            // One level less: the environment of `x` is not there.
            ExprKind::Local { depth, index, .. } if *depth > 0 => {
                closure_env.up(depth - 1).get(*index)?
            }
            _ => return None,
        };
        Some(match slot {
            Value::Thunk(t) => {
                let t = t.clone();
                self.force_thunk(&t).map_err(|e| e.at(body.span))
            }
            other => Ok(other.clone()),
        })
    }
}

/// Up to three names from `candidates` close to `name` (for "did you mean").
pub fn suggest<'a>(name: &str, candidates: impl Iterator<Item = &'a str>) -> Vec<String> {
    let max = (name.chars().count() / 3).max(1) + 1;
    let mut scored: Vec<(usize, &str)> = candidates
        .filter_map(|c| {
            let d = strsim::levenshtein(name, c);
            (d <= max).then_some((d, c))
        })
        .collect();
    scored.sort();
    scored
        .into_iter()
        .take(3)
        .map(|(_, c)| c.to_string())
        .collect()
}
