# The boot tests' profile: the MacBook installer (Broadcom `wl` built from source, redistributable
# firmware) with GNOME forced off, which must leave a small text-mode image (no X either), two
# tools the test runs (iw, lspci), and a one-second boot menu so QEMU reaches the system quickly.
{ lib, pkgs, ... }:
{
  imports = [ ../../profiles/installer/cd-dvd/installation-cd-graphical-gnome-macbook.nix ];

  services.xserver.desktopManager.gnome.enable = lib.mkForce false;
  environment.systemPackages = with pkgs; [ iw pciutils ];
  boot.loader.timeout = lib.mkForce 1;
  isoImage.edition = lib.mkForce "macbook-test";
}
