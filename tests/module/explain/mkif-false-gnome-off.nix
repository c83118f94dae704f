# explain: environment.systemPackages
# `gnome.enable = mkForce false` switches GNOME's packages off: its definition stays under `mkIf false`.
{ lib, ... }:
{
  imports = [ ../../../profiles/installer/cd-dvd/installation-cd-graphical-gnome.nix ];
  services.xserver.desktopManager.gnome.enable = lib.mkForce false;
}
