# `types.lines` joins definitions in merge order: the third module's line comes before the first's.
let
  lib = import ../../crates/kiln-module/lib;
in
(lib.evalModules {
  modules = [
    { script = "echo one"; }
    { options.script = lib.mkOption { type = lib.types.lines; }; }
    { script = "echo two"; }
  ];
}).config.script
