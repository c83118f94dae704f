# explain: boot.loader.timeout
# mkForce (50) beats iso-image.nix's mkImageMediaOverride (60).
{ lib, ... }:
{
  imports = [ ../../../profiles/installer/cd-dvd/installation-cd-minimal.nix ];
  boot.loader.timeout = lib.mkForce 3;
}
