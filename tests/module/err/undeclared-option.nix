# An undeclared option with no similar declared name: the error has no suggestion.
let
  lib = import ../../../crates/kiln-module/lib;
in
(lib.evalModules {
  modules = [
    { options.s = lib.mkOption { type = lib.types.int; default = 1; }; }
    { _file = "t.nix"; t = { a = 1; }; }
  ];
}).config.s
