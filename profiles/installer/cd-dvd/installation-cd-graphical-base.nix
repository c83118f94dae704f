# The common part of the graphical installer ISOs, as NixOS's: NetworkManager for Wi-Fi, polkit
# letting the live user (wheel) do anything, and desktop tools (Firefox ESR, GParted) once a desktop
# turns the X session on. A desktop profile imports it and enables its desktop; on its own, or with
# the desktop forced off, it is a text-mode image.
{ config, lib, pkgs, ... }:
{
  imports = [ ./installation-cd-base.nix ];

  networking.networkmanager.enable = true;

  # Whitelist wheel users to do anything, as NixOS's graphical installer does: `pkexec` and the
  # desktop's privileged dialogs (GParted, Disks) need no password. Not for an installed system.
  security.polkit.extraConfig = ''
    polkit.addRule(function(action, subject) {
      if (subject.isInGroup("wheel")) {
        return polkit.Result.YES;
      }
    });
  '';

  environment.systemPackages = lib.mkIf config.services.xserver.enable (with pkgs; [ firefox-esr gparted ]);
}
