# The GNOME installer ISO.
{ lib, ... }:
{
  imports = [ ./installation-cd-graphical-base.nix ];

  isoImage.edition = lib.mkDefault "gnome";
  services.xserver.desktopManager.gnome.enable = true;
}
