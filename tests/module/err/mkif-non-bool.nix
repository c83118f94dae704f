# `mkIf` needs a Boolean condition.
let
  lib = import ../../../crates/kiln-module/lib;
in
(lib.evalModules {
  modules = [
    { options.x = lib.mkOption { type = lib.types.int; }; }
    { x = lib.mkIf "yes" 1; }
  ];
}).config.x
