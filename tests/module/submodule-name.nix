# Under `attrsOf (submodule ...)` each value is its own module evaluation whose `name` argument is the
# attribute name; definitions from several modules merge inside the submodule.
let
  lib = import ../../crates/kiln-module/lib;
  inherit (lib) mkOption types;
  fileSystem = { name, config, ... }: {
    options.mountPoint = mkOption { type = types.str; default = name; };
    options.device = mkOption { type = types.str; default = "/dev/disk/by-label/${config.label}"; };
    options.label = mkOption { type = types.str; default = lib.toUpper (lib.removePrefix "/" name); };
    options.options = mkOption { type = types.listOf types.str; default = [ "defaults" ]; };
  };
in
(lib.evalModules {
  modules = [
    { options.fileSystems = mkOption { type = types.attrsOf (types.submodule fileSystem); default = { }; }; }
    { fileSystems."/boot".options = [ "noatime" ]; }
    { fileSystems."/boot".options = [ "nofail" ]; fileSystems."/data".device = "/dev/sdb1"; }
    { fileSystems."/" = { config, ... }: { config = { label = "root"; options = lib.mkForce [ "label=${config.label}" ]; }; }; }
  ];
}).config.fileSystems
