# Declares `hardware.firmware` and `hardware.enableRedistributableFirmware`, which adds Debian's
# redistributable firmware packages (from non-free-firmware) to it.
{ config, lib, pkgs, ... }:
{
  options.hardware = {
    firmware = lib.mkOption {
      type = lib.types.listOf lib.types.package;
      default = [ ];
      description = "Packages whose `/lib/firmware` trees are available to the kernel (and copied into the initrd as its modules need).";
    };
    enableRedistributableFirmware = lib.mkEnableOption "firmware with a license that allows redistribution";
  };

  config = lib.mkIf config.hardware.enableRedistributableFirmware {
    hardware.firmware = with pkgs; [
      firmware-linux-free
      firmware-misc-nonfree
      firmware-realtek
      firmware-iwlwifi
      firmware-atheros
      firmware-brcm80211
      firmware-amd-graphics
    ];
  };
}
