# A wrongly typed list element is reported with its definition and entry number.
let
  lib = import ../../../crates/kiln-module/lib;
in
(lib.evalModules {
  modules = [
    { options.boot.kernelModules = lib.mkOption { type = lib.types.listOf lib.types.str; }; }
    { _file = "profile.nix"; boot.kernelModules = [ "wl" 42 ]; }
  ];
}).config.boot.kernelModules
