# `mkMerge` splices its contents, nested and mixed with `mkIf`, both around sets and at an option.
let
  lib = import ../../crates/kiln-module/lib;
  inherit (lib) mkOption mkIf mkMerge types;
in
(lib.evalModules {
  modules = [
    { options.a = mkOption { type = types.listOf types.int; }; options.b = mkOption { type = types.int; }; }
    (mkMerge [
      { a = [ 1 ]; }
      (mkIf true { a = [ 2 ]; b = 7; })
      (mkIf false { a = [ 99 ]; })
      (mkMerge [ { a = [ 3 ]; } ])
    ])
    { a = mkMerge [ [ 4 ] (mkIf false [ 98 ]) (mkMerge [ [ 5 ] [ 6 ] ]) ]; }
  ];
}).config
