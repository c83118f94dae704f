# Two declarations of one option with equal types (and at most one default) are one option.
let
  lib = import ../../crates/kiln-module/lib;
  inherit (lib) mkOption types;
  result = lib.evalModules {
    modules = [
      { options.port = mkOption { type = types.port; default = 22; }; }
      { options.port = mkOption { type = types.port; description = "The port."; }; }
      { options.l = mkOption { type = types.listOf types.str; }; }
      { options.l = mkOption { type = types.listOf types.str; }; }
      { l = [ "x" ]; }
    ];
  };
in
{ inherit (result.config) port l; portChecks = map result.options.port.type.check [ 22 70000 ]; description = result.options.port.description; }
