# The common part of every installer ISO: the medium, all hardware, redistributable firmware, base tools.
{ config, lib, pkgs, ... }:
{
  imports = [
    ./iso-image.nix
    ../../common/all-hardware.nix
    ../../common/base.nix
  ];

  isoImage.isoBaseName = lib.mkDefault "kiln-installer";
  isoImage.makeEfiBootable = true;
  isoImage.makeUsbBootable = true;

  hardware.enableRedistributableFirmware = true;

  networking.hostName = lib.mkDefault "kiln-installer";
}
