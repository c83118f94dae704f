# With `_module.check = false`, definitions of undeclared options are ignored instead of being errors.
let
  lib = import ../../crates/kiln-module/lib;
in
(lib.evalModules {
  modules = [
    { options.a = lib.mkOption { type = lib.types.int; }; }
    { a = 1; undeclared.b = 2; _module.check = false; }
  ];
}).config
