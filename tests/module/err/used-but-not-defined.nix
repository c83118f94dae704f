# Reading an option without a default that nothing defines.
let
  lib = import ../../../crates/kiln-module/lib;
in
(lib.evalModules {
  modules = [ { options.must = lib.mkOption { type = lib.types.str; }; } ];
}).config.must
