# The common part of the graphical installer ISOs: an X session and a few desktop tools.
{ lib, pkgs, ... }:
{
  imports = [ ./installation-cd-base.nix ];

  services.xserver.enable = true;
  environment.systemPackages = with pkgs; [ firefox-esr gparted ];
}
