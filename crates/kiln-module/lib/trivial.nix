# Small general-purpose combinators (`id`, `const`, `fix`, `extends`, ...) that every other file builds on.
{ lib }:
{
  id = x: x;

  const = x: _: x;

  flip = f: a: b: f b a;

  # Apply a list of functions left to right: `pipe x [ f g ]` is `g (f x)`.
  pipe = builtins.foldl' (x: f: f x);

  concat = a: b: a ++ b;

  "or" = a: b: a || b;

  "and" = a: b: a && b;

  mergeAttrs = a: b: a // b;

  # The least fixed point of `f`: `fix (self: { a = 1; b = self.a + 1; })` is `{ a = 1; b = 2; }`.
  fix = f: let x = f x; in x;

  # Overlay `f` on top of the fixpoint function `rattrs`, as nixpkgs' overlays do.
  extends = f: rattrs: self: let super = rattrs self; in super // f self super;

  mapNullable = f: a: if a == null then a else f a;

  boolToString = b: if b then "true" else "false";

  min = a: b: if a < b then a else b;

  max = a: b: if a > b then a else b;

  mod = base: int: base - (int * (base / int));

  isFunction = builtins.isFunction;

  inherit (builtins) isInt isBool isString isList isAttrs isFloat isPath seq deepSeq typeOf;

  warn = msg: builtins.trace "warning: ${msg}";

  warnIf = cond: msg: if cond then lib.warn msg else x: x;

  throwIf = cond: msg: if cond then throw msg else x: x;

  throwIfNot = cond: msg: if cond then x: x else throw msg;

  assertMsg = pred: msg: pred || throw msg;

  functionArgs = f: if builtins.isFunction f then builtins.functionArgs f else f.__functionArgs or { };

  setFunctionArgs = f: args: { __functor = _self: f; __functionArgs = args; };

  # `a < b` for any two values Nix can order; used by `sort` callers.
  lessThan = builtins.lessThan;
}
