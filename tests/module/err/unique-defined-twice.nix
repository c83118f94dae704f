# `types.uniq` (and `raw`) accept exactly one definition, even of equal values.
let
  lib = import ../../../crates/kiln-module/lib;
in
(lib.evalModules {
  modules = [
    { options.u = lib.mkOption { type = lib.types.uniq lib.types.int; }; }
    { _file = "a.nix"; u = 1; }
    { _file = "b.nix"; u = 1; }
  ];
}).config.u
