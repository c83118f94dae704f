# Two declarations of one option with different types.
let
  lib = import ../../../crates/kiln-module/lib;
in
(lib.evalModules {
  modules = [
    { _file = "a.nix"; options.x = lib.mkOption { type = lib.types.int; }; }
    { _file = "b.nix"; options.x = lib.mkOption { type = lib.types.str; }; }
  ];
}).config.x
