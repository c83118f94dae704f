# `disabledModules` removes a module file (and what only it imports) from the evaluation.
let
  lib = import ../../crates/kiln-module/lib;
in
(lib.evalModules {
  modules = [
    { options.l = lib.mkOption { type = lib.types.listOf lib.types.str; default = [ ]; }; }
    ./support/define-shared.nix
    { disabledModules = [ ./support/define-shared.nix ]; l = [ "kept" ]; }
  ];
}).config.l
