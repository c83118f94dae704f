# What a bootable live ISO needs, whatever else the profile says: its file systems, boot loader settings and
# the modules that find the medium.  Values the medium depends on use `mkImageMediaOverride` (priority 60):
# they beat plain assignments in a user's profile and yield only to `mkForce`.
{ config, lib, ... }:
let
  inherit (lib) mkImageMediaOverride;
in
{
  fileSystems = {
    "/" = mkImageMediaOverride { fsType = "tmpfs"; options = [ "mode=0755" ]; };
    "/iso" = mkImageMediaOverride {
      device = "/dev/disk/by-label/${config.isoImage.volumeID}";
      fsType = "iso9660";
      neededForBoot = true;
      noCheck = true;
    };
  };

  boot.loader.timeout = mkImageMediaOverride 10;

  boot.initrd.availableKernelModules = [ "squashfs" "iso9660" "uas" "overlay" ];
  boot.initrd.kernelModules = [ "loop" "overlay" ];
  boot.kernelParams = [ "root=LABEL=${config.isoImage.volumeID}" "boot.shell_on_fail" ];

  assertions = [
    {
      assertion = config.isoImage.makeBiosBootable || config.isoImage.makeEfiBootable;
      message = "isoImage: the ISO must boot with BIOS (makeBiosBootable), UEFI (makeEfiBootable) or both";
    }
  ];
}
