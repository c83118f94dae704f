# Types against nixpkgs' lib/types.nix (2023-06 to 2024-06): string-like sets in `anything`, empty
# values in `lazyAttrsOf`, shallow `attrs`, and descriptions built with `optionDescriptionPhrase`.
let
  lib = import ../../crates/kiln-module/lib;
  t = lib.types;
  eval = type: defs: (lib.evalModules {
    modules = [ { options.x = lib.mkOption { inherit type; }; } ] ++ map (v: { x = v; }) defs;
  }).config.x;
  tryMerge = type: defs: builtins.tryEval (builtins.deepSeq (eval type defs) true);
  drv = { type = "derivation"; name = "a"; outPath = "/nix/store/00000000000000000000000000000000-a"; };
in
{
  anythingSets = eval t.anything [ { a.b = 1; } { a.c = 2; } ];
  anythingOneStringLike = eval t.anything [ { outPath = "/x"; } ];
  anythingTwoStringLike = tryMerge t.anything [ { outPath = "/x"; } { outPath = "/x"; } ];
  anythingTwoToString = tryMerge t.anything [ { __toString = _: "s"; } { __toString = _: "s"; } ];
  anythingFunctions = (eval t.anything [ (x: { a = x; }) (x: { b = x; }) ]) 1;
  anythingEqual = eval t.anything [ 1 1 ];
  anythingTwoLists = tryMerge t.anything [ [ 1 ] [ 2 ] ];
  attrsShallow = eval t.attrs [ { a.b = 1; x = 1; } { a.c = 2; } ];
  packageOnce = (eval t.package [ drv ]).name;
  packageTwice = tryMerge t.package [ drv drv ];
  lazyListVanished = eval (t.lazyAttrsOf (t.listOf t.int)) [ { a = lib.mkIf false [ 1 ]; b = [ 2 ]; } ];
  lazyNullVanished = eval (t.lazyAttrsOf (t.nullOr t.int)) [ { a = lib.mkIf false 1; } ];
  lazyStrVanished = builtins.tryEval (eval (t.lazyAttrsOf t.str) [ { a = lib.mkIf false "s"; } ]).a;
  attrsOfVanished = eval (t.attrsOf (t.listOf t.int)) [ { a = lib.mkIf false [ 1 ]; b = [ 2 ]; } ];
  emptyValues = map (type: type.emptyValue) [
    t.str t.lines (t.listOf t.int) (t.attrsOf t.int) (t.nullOr t.int) t.attrs (t.nonEmptyListOf t.int)
    (t.coercedTo t.int toString t.lines)
  ];
  descriptions = map (type: type.description) [
    (t.listOf (t.submodule { }))
    (t.attrsOf (t.listOf t.str))
    (t.nullOr (t.listOf t.str))
    (t.nullOr (t.either t.int t.str))
    (t.listOf (t.either t.int t.str))
    (t.either t.ints.positive t.str)
    (t.either t.str (t.listOf t.str))
    (t.either (t.listOf t.str) t.str)
    (t.nonEmptyListOf t.str)
    (t.coercedTo (t.listOf t.str) toString t.str)
    (t.functionTo (t.attrsOf t.int))
    (t.listOf (t.enum [ "a" "b" ]))
    (t.listOf (t.enum [ "a" ]))
    (t.lazyAttrsOf (t.nullOr t.int))
  ];
}
