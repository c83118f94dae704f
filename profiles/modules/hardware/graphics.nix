# Declares `hardware.graphics.enable` (NixOS's name since 24.11; `hardware.opengl` before): Mesa's
# OpenGL, EGL and GBM drivers, among them llvmpipe, which renders on the CPU where no GPU driver
# does (a virtual machine's plain VGA), so GNOME Shell runs anywhere.
{ config, lib, pkgs, ... }:
{
  options.hardware.graphics.enable = lib.mkEnableOption "Mesa's OpenGL/EGL drivers (set by `services.xserver.enable`)";

  config = lib.mkIf config.hardware.graphics.enable {
    environment.systemPackages = with pkgs; [ libgl1-mesa-dri libegl-mesa0 libglx-mesa0 libgbm1 ];
  };
}
