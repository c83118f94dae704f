# Conflicting definitions in anonymous modules: each is named by this file and its line.
let
  lib = import ../../../crates/kiln-module/lib;
in
(lib.evalModules {
  modules = [
    { options.networking.hostName = lib.mkOption { type = lib.types.str; }; }
    { networking.hostName = "one"; }
    { networking = { hostName = "two"; }; }
  ];
}).config.networking.hostName
