# Declares `fonts.packages` and `fonts.enableDefaultPackages`, as NixOS's `config/fonts/packages.nix`:
# font packages installed into the live root, where fontconfig's trigger indexes them when dpkg
# configures the root.
{ config, lib, pkgs, ... }:
let
  inherit (lib) mkOption types mkIf;
in
{
  options.fonts = {
    packages = mkOption {
      type = types.listOf types.package;
      default = [ ];
      example = lib.literalExpression "[ pkgs.fonts-noto-cjk ]";
      description = "Debian font packages (`fonts-*`) installed into the system.";
    };
    enableDefaultPackages = mkOption {
      type = types.bool;
      default = false;
      description = "Whether a basic set of fonts is installed: DejaVu, Liberation (metric-compatible with Arial, Times and Courier) and Noto's colour emoji.";
    };
  };

  config = {
    fonts.packages = mkIf config.fonts.enableDefaultPackages (with pkgs; [
      fonts-dejavu-core
      fonts-liberation2
      fonts-noto-color-emoji
    ]);
    environment.systemPackages = config.fonts.packages;
  };
}
