# How the types merge several definitions and what they accept (`check`).
let
  lib = import ../../crates/kiln-module/lib;
  t = lib.types;
  merge = type: values: (lib.evalModules {
    modules = [ { options.x = lib.mkOption { inherit type; }; } ] ++ map (v: { x = v; }) values;
  }).config.x;
  accepts = type: values: map type.check values;
in
{
  boolEqual = merge t.bool [ true true ];
  commas = merge t.commas [ "a" "b" ];
  separated = merge (t.separatedString " ") [ "a" "b" ];
  nullOrNull = merge (t.nullOr t.int) [ null null ];
  nullOrValue = merge (t.nullOr t.int) [ 3 ];
  eitherLeft = merge (t.either (t.listOf t.int) t.str) [ [ 1 ] [ 2 ] ];
  eitherRight = merge (t.either (t.listOf t.int) t.str) [ "s" ];
  oneOf = merge (t.oneOf [ t.int t.str ]) [ "s" "s" ];
  attrs = merge t.attrs [ { a = 1; b = { c = 1; }; } { b = { d = 2; }; } ];
  anythingSets = merge t.anything [ { a.b = 1; l = [ 1 ]; } { a.c = 2; s = "x"; } ];
  unspecifiedLists = merge t.unspecified [ [ 1 ] [ 2 ] ];
  unspecifiedBools = merge t.unspecified [ false true ];
  function = (merge (t.functionTo (t.listOf t.int)) [ (x: [ x ]) (x: [ (x + 1) ]) ]) 10;
  coerced = merge (t.coercedTo t.int toString t.str) [ 5 ];
  listOfSubmodules = merge (t.listOf (t.submodule { options.n = lib.mkOption { type = t.int; default = 0; }; })) [ [ { n = 1; } { } ] ];
  portChecks = accepts t.port [ 0 65535 65536 (-1) "80" ];
  u8Checks = accepts t.ints.u8 [ 255 256 ];
  s8Checks = accepts t.ints.s8 [ (-128) 127 128 ];
  pathChecks = accepts t.path [ "/etc" "etc" ./. { outPath = "/x"; } ];
  packageChecks = accepts t.package [ { type = "derivation"; name = "a"; outPath = "/a"; } { } "/nix/store/00000000000000000000000000000000-a" "a" ];
  strMatchingChecks = accepts (t.strMatching "[a-z]+") [ "abc" "ABC" 1 ];
  nonEmptyChecks = accepts t.nonEmptyStr [ "x" "" " " ];
  enumChecks = accepts (t.enum [ "xz" "zstd" ]) [ "xz" "gzip" ];
}
