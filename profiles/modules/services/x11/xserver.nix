# Declares `services.xserver.enable`, the switch for a graphical session: the X server (which GDM
# falls back to where Wayland cannot run, as with `nomodeset`) with every video and input driver
# Debian packages, and Mesa (`hardware.graphics`).
{ config, lib, pkgs, ... }:
{
  options.services.xserver.enable = lib.mkEnableOption "the X server and a graphical session";

  config = lib.mkIf config.services.xserver.enable {
    hardware.graphics.enable = lib.mkDefault true;
    environment.systemPackages = with pkgs; [ xserver-xorg xinit ];
  };
}
