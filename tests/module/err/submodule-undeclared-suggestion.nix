# An undeclared name inside a submodule is reported with its full path and the submodule's options.
let
  lib = import ../../../crates/kiln-module/lib;
  inherit (lib) mkOption types;
in
(lib.evalModules {
  modules = [
    {
      options.fileSystems = mkOption {
        type = types.attrsOf (types.submodule {
          options.fsType = mkOption { type = types.str; default = "auto"; };
          options.device = mkOption { type = types.str; };
        });
      };
    }
    { _file = "profile.nix"; fileSystems."/".fstype = "ext4"; }
  ];
}).config.fileSystems."/".device
