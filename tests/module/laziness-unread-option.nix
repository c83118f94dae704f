# An option that is never read is never evaluated: its default, its definitions and their `mkIf`
# conditions may throw without affecting the options that are read.
let
  lib = import ../../crates/kiln-module/lib;
  inherit (lib) mkOption types;
  config = (lib.evalModules {
    modules = [
      {
        options.broken = mkOption { type = types.int; default = throw "default of broken was evaluated"; };
        options.alsoBroken = mkOption { type = types.listOf types.int; };
        options.fine = mkOption { type = types.int; };
      }
      { broken = throw "definition of broken was evaluated"; fine = 1; }
      ({ config, ... }: { alsoBroken = lib.mkIf (throw "condition was evaluated") [ config.broken ]; })
    ];
  }).config;
in
config.fine
