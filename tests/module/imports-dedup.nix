# A file imported twice (and listed directly) is collected once, at its first breadth-first position;
# anonymous modules are never deduplicated.
let
  lib = import ../../crates/kiln-module/lib;
in
(lib.evalModules {
  modules = [
    { options.l = lib.mkOption { type = lib.types.listOf lib.types.str; }; }
    ./support/define-shared.nix
    { imports = [ ./support/define-shared.nix ./support/define-shared.nix ]; l = [ "first" ]; }
    { imports = [ ./support/define-shared.nix ]; l = [ "second" ]; }
    { l = [ "anon" ]; }
    { l = [ "anon" ]; }
  ];
}).config.l
