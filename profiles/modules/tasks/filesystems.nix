# Declares `fileSystems`, the mounts of the system, keyed by mount point.
{ lib, ... }:
let
  inherit (lib) mkOption types;
  fileSystem = { name, ... }: {
    options = {
      mountPoint = mkOption { type = types.str; default = name; description = "Where to mount it."; };
      device = mkOption { type = types.nullOr types.str; default = null; description = "The device, e.g. `/dev/sda1`."; };
      label = mkOption { type = types.nullOr types.str; default = null; description = "The file system label, instead of a device."; };
      fsType = mkOption { type = types.str; default = "auto"; description = "The file system type."; };
      options = mkOption { type = types.listOf types.nonEmptyStr; default = [ "defaults" ]; description = "Mount options."; };
      neededForBoot = mkOption { type = types.bool; default = false; description = "Whether the initrd mounts it."; };
      noCheck = mkOption { type = types.bool; default = false; description = "Whether to skip fsck."; };
    };
  };
in
{
  options.fileSystems = mkOption {
    type = types.attrsOf (types.submodule fileSystem);
    default = { };
    description = "The file systems to mount, by mount point.";
  };
}
