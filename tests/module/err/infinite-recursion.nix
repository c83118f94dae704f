# An option defined in terms of itself.
let
  lib = import ../../../crates/kiln-module/lib;
in
(lib.evalModules {
  modules = [
    { options.x = lib.mkOption { type = lib.types.int; }; }
    ({ config, ... }: { x = config.x + 1; })
  ];
}).config.x
