# A module with `config` or `options` may not also have plain configuration attributes.
let
  lib = import ../../../crates/kiln-module/lib;
in
(lib.evalModules {
  modules = [
    { options.a = lib.mkOption { type = lib.types.int; }; b = 1; }
  ];
}).config.a
