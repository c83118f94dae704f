# explain: fileSystems./
# `mkForce` (50) on one attribute beats iso-image.nix's mkImageMediaOverride (60).
{ lib, ... }:
{
  imports = [ ../../../profiles/installer/cd-dvd/installation-cd-minimal.nix ];
  fileSystems."/" = lib.mkForce { device = "/dev/sda1"; fsType = "ext4"; };
}
