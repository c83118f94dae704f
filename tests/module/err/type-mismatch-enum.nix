# A definition outside an enum: the error shows the expected type, the value and its file.
let
  lib = import ../../../crates/kiln-module/lib;
in
(lib.evalModules {
  modules = [
    { options.c = lib.mkOption { type = lib.types.enum [ "xz" "zstd" ]; default = "xz"; }; }
    { _file = "profile.nix"; c = "gzip"; }
  ];
}).config.c
