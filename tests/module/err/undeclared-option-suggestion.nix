# Defining an undeclared option is an error naming the option, the definition and the closest declared names.
let
  lib = import ../../../crates/kiln-module/lib;
  inherit (lib) mkOption types;
in
(lib.evalModules {
  modules = [
    { options.boot.kernelModules = mkOption { type = types.listOf types.str; default = [ ]; }; }
    { options.boot.kernelParams = mkOption { type = types.listOf types.str; default = [ ]; }; }
    { options.boot.initrd.kernelModules = mkOption { type = types.listOf types.str; default = [ ]; }; }
    { _file = "macbook.nix"; boot.kernelModule = [ "wl" ]; }
  ];
}).config.boot.kernelModules
