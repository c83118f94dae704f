# `nullOr` refuses a mix of null and non-null definitions.
let
  lib = import ../../../crates/kiln-module/lib;
in
(lib.evalModules {
  modules = [
    { options.n = lib.mkOption { type = lib.types.nullOr lib.types.int; }; }
    { _file = "a.nix"; n = null; }
    { _file = "b.nix"; n = 1; }
  ];
}).config.n
