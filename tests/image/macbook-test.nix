# The boot tests' profile: the MacBook installer (Broadcom `wl` built from source, redistributable
# firmware) with GNOME turned off, a few real tools in the live root instead of the graphical
# installer's desktop applications, and a one-second boot menu so QEMU reaches the shell quickly.
{ lib, pkgs, ... }:
{
  imports = [ ../../profiles/installer/cd-dvd/installation-cd-graphical-gnome-macbook.nix ];

  services.xserver.desktopManager.gnome.enable = lib.mkForce false;
  services.xserver.enable = lib.mkForce false;
  environment.systemPackages = lib.mkForce (with pkgs; [ busybox-static iw pciutils kmod ]);
  boot.loader.timeout = lib.mkForce 1;
  isoImage.edition = lib.mkForce "macbook-test";
}
