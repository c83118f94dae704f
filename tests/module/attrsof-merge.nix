# `attrsOf` merges per attribute: each key has its own priorities and `mkIf`s, a key whose definitions all
# vanish is absent, and `lazyAttrsOf` keeps the names without evaluating the conditions.
let
  lib = import ../../crates/kiln-module/lib;
  inherit (lib) mkOption types mkIf mkForce mkDefault;
  result = lib.evalModules {
    modules = [
      {
        options.ports = mkOption { type = types.attrsOf types.port; default = { }; };
        options.lazy = mkOption { type = types.lazyAttrsOf types.int; default = { }; };
        options.lists = mkOption { type = types.attrsOf (types.listOf types.str); default = { }; };
      }
      { ports = { http = 80; https = mkDefault 443; ssh = 22; }; lists.a = [ "1" ]; }
      { ports = { https = 8443; ssh = mkForce 2222; gopher = mkIf false 70; }; lists = { a = [ "2" ]; b = [ "3" ]; }; }
      { ports.ssh = 23; lazy = { kept = 1; gone = mkIf false 2; }; }
    ];
  };
in
{
  inherit (result.config) ports lists;
  lazyNames = builtins.attrNames result.config.lazy;
  lazyKept = result.config.lazy.kept;
  lazyGone = (builtins.tryEval result.config.lazy.gone).success;
}
