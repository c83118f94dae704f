# Declares the boot loader options that `iso-image.nix` overrides for the medium.
{ lib, ... }:
{
  options.boot.loader = {
    timeout = lib.mkOption {
      type = lib.types.nullOr lib.types.ints.unsigned;
      default = 5;
      description = "Seconds until the boot menu picks the default entry; null waits forever.";
    };
    grub.enable = lib.mkOption {
      type = lib.types.bool;
      default = true;
      description = "Whether to install GRUB on a disk (an installed system; a live medium has its own loaders).";
    };
  };
}
