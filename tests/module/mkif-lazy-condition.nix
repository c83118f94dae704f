# `mkIf` does not evaluate its condition to find which options it defines, so a condition may read
# `config`, also around a whole `config` block; a false `mkIf` contributes nothing.
let
  lib = import ../../crates/kiln-module/lib;
  inherit (lib) mkOption mkIf types;
  cfg = (lib.evalModules {
    modules = [
      {
        options.feature.enable = mkOption { type = types.bool; default = false; };
        options.other.enable = mkOption { type = types.bool; default = false; };
        options.packages = mkOption { type = types.listOf types.str; default = [ ]; };
        options.name = mkOption { type = types.str; default = "base"; };
      }
      ({ config, ... }: {
        config = mkIf config.feature.enable {
          packages = [ "feature-tool" ];
          other.enable = true;
        };
      })
      ({ config, ... }: {
        packages = mkIf config.other.enable [ "other-tool" ];
        name = mkIf (!config.other.enable) "never";
      })
      { feature.enable = true; }
    ];
  }).config;
in
{ inherit (cfg) packages name; otherEnabled = cfg.other.enable; }
