# Two different plain definitions of a single-valued option: the error lists every value with its file.
let
  lib = import ../../../crates/kiln-module/lib;
in
(lib.evalModules {
  modules = [
    { options.boot.x = lib.mkOption { type = lib.types.str; }; }
    { _file = "first.nix"; boot.x = "a"; }
    { _file = "second.nix"; boot.x = "b"; }
    { _file = "third.nix"; boot.x = "a"; }
  ];
}).config.boot.x
