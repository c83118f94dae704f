# Reading an undeclared option is the language's missing-attribute error (nix 2.8 suggests close names).
let
  lib = import ../../../crates/kiln-module/lib;
in
(lib.evalModules {
  modules = [
    { options.boot.kernelModules = lib.mkOption { type = lib.types.listOf lib.types.str; default = [ ]; }; }
  ];
}).config.boot.kernelModule
