# Two modules may declare the same submodule option: their sub-options combine, as when several NixOS
# modules add sub-options to `fileSystems`.
let
  lib = import ../../crates/kiln-module/lib;
  inherit (lib) mkOption types;
in
(lib.evalModules {
  modules = [
    { options.fileSystems = mkOption { type = types.attrsOf (types.submodule { options.fsType = mkOption { type = types.str; default = "auto"; }; }); default = { }; }; }
    { options.fileSystems = mkOption { type = types.attrsOf (types.submodule { options.encrypted = mkOption { type = types.bool; default = false; }; }); }; }
    { fileSystems."/".encrypted = true; fileSystems."/boot".fsType = "vfat"; }
  ];
}).config.fileSystems
