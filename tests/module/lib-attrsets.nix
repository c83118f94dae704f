# The attribute-set helpers of `lib`, with the results nixpkgs' functions of the same names give.
let
  lib = import ../../crates/kiln-module/lib;
  set = { a = 1; b = 2; c = 3; };
in
{
  mapAttrs = lib.mapAttrs (n: v: "${n}${toString v}") set;
  mapAttrsToList = lib.mapAttrsToList (n: v: n) set;
  mapAttrs' = lib.mapAttrs' (n: v: lib.nameValuePair "x${n}" v) { a = 1; };
  filterAttrs = lib.filterAttrs (n: v: v > 1) set;
  optionalAttrs = [ (lib.optionalAttrs true { a = 1; }) (lib.optionalAttrs false { a = 1; }) ];
  attrByPath = [ (lib.attrByPath [ "a" "b" ] 0 { a.b = 1; }) (lib.attrByPath [ "a" "c" ] 0 { a.b = 1; }) (lib.attrByPath [ "a" "b" ] 0 { a = 5; }) ];
  hasAttrByPath = [ (lib.hasAttrByPath [ "a" "b" ] { a.b = 1; }) (lib.hasAttrByPath [ "a" "c" ] { a.b = 1; }) ];
  getAttrFromPath = lib.getAttrFromPath [ "a" "b" ] { a.b = 1; };
  setAttrByPath = lib.setAttrByPath [ "a" "b" ] 1;
  recursiveUpdate = lib.recursiveUpdate { a = { b = 1; c = 2; }; d = 1; } { a = { b = 3; e = 4; }; d = { x = 1; }; };
  genAttrs = lib.genAttrs [ "x" "y" ] (n: n + n);
  attrVals = lib.attrVals [ "c" "a" ] set;
  zipAttrsWith = lib.zipAttrsWith (n: vs: vs) [ { a = 1; } { a = 2; b = 3; } ];
  isDerivation = [ (lib.isDerivation { type = "derivation"; }) (lib.isDerivation { }) ];
  mapAttrsRecursive = lib.mapAttrsRecursive (path: v: lib.concatStringsSep "." path) { a.b = 1; c = 2; };
  collect = lib.collect builtins.isInt { a.b = 1; c = [ 2 ]; d = 3; };
  foldAttrs = lib.foldAttrs (x: acc: [ x ] ++ acc) [ ] [ { a = 1; } { a = 2; b = 3; } ];
  catAttrs = lib.catAttrs "a" [ { a = 1; } { b = 2; } { a = 3; } ];
  attrsToList = lib.attrsToList { a = 1; };
}
