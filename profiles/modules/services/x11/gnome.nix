# Declares `services.xserver.desktopManager.gnome.enable`, which installs GNOME's Debian packages.
# `mkForce false` on it gives a small image even from a GNOME profile.
{ config, lib, pkgs, ... }:
let
  cfg = config.services.xserver.desktopManager.gnome;
in
{
  options.services.xserver.desktopManager.gnome.enable = lib.mkEnableOption "the GNOME desktop";

  config = lib.mkIf cfg.enable {
    services.xserver.enable = true;
    environment.systemPackages = with pkgs; [
      gnome-shell
      gnome-session
      gdm3
      nautilus
      gnome-terminal
      gnome-control-center
    ];
  };
}
