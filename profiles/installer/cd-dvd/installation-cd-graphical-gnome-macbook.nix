# The NixOS manual's example: the GNOME installer plus Broadcom's `wl` WiFi driver for MacBooks.
{ config, pkgs, ... }:
{
  imports = [ ./installation-cd-graphical-gnome.nix ];

  boot.initrd.kernelModules = [ "wl" ];

  boot.kernelModules = [ "kvm-intel" "wl" ];
  boot.extraModulePackages = [ config.boot.kernelPackages.broadcom_sta ];
}
