# A function module asking for an argument nobody provides.
let
  lib = import ../../../crates/kiln-module/lib;
in
(lib.evalModules {
  modules = [
    { options.x = lib.mkOption { type = lib.types.str; }; }
    ({ pkgs, ... }: { x = pkgs.hello; })
  ];
}).config.x
