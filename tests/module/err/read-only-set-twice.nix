# A read-only option may have only one definition (its default counts).
let
  lib = import ../../../crates/kiln-module/lib;
in
(lib.evalModules {
  modules = [
    { options.r = lib.mkOption { type = lib.types.int; default = 1; readOnly = true; }; }
    { _file = "profile.nix"; r = 2; }
  ];
}).config.r
