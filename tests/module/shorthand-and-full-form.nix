# A module is either the full form (`options`, `config`, `imports`) or the shorthand, where every other
# attribute is configuration; `_file` names the file in definitions, `key` deduplicates.
let
  lib = import ../../crates/kiln-module/lib;
  result = lib.evalModules {
    modules = [
      { _file = "declare.nix"; options.l = lib.mkOption { type = lib.types.listOf lib.types.str; }; }
      { _file = "full.nix"; config.l = [ "full" ]; imports = [ ]; }
      { _file = "short.nix"; l = [ "short" ]; }
      { _file = "keyed-1.nix"; key = "same"; l = [ "keyed" ]; }
      { _file = "keyed-2.nix"; key = "same"; l = [ "dropped" ]; }
    ];
  };
in
{ inherit (result.config) l; files = result.options.l.files; }
