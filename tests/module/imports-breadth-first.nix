# Modules are collected level by level: a nested import comes after every module of the level above,
# so after reversal it is merged first.  (A depth-first walk would give [ "b" "d" "c" "a" ].)
let
  lib = import ../../crates/kiln-module/lib;
in
(lib.evalModules {
  modules = [
    { options.l = lib.mkOption { type = lib.types.listOf lib.types.str; }; }
    { imports = [ { imports = [ { l = [ "d" ]; } ]; l = [ "c" ]; } ]; l = [ "a" ]; }
    { l = [ "b" ]; }
  ];
}).config.l
