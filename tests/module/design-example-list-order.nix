# DESIGN.md's example: list definitions merge in the reverse of breadth-first module order.
let
  lib = import ../../crates/kiln-module/lib;
  decl = { options.l = lib.mkOption { type = lib.types.listOf lib.types.int; }; };
in
(lib.evalModules {
  modules = [ decl { l = [ 1 ]; } { l = [ 2 ]; } { l = [ 3 ]; } { imports = [ { l = [ 4 ]; } { l = [ 5 ]; } ]; l = [ 6 ]; } ];
}).config.l
