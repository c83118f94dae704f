# Declares `services.xserver.enable`, the switch for a graphical session.
{ config, lib, pkgs, ... }:
{
  options.services.xserver.enable = lib.mkEnableOption "the X server and a graphical session";

  config = lib.mkIf config.services.xserver.enable {
    environment.systemPackages = with pkgs; [ xserver-xorg xinit ];
  };
}
