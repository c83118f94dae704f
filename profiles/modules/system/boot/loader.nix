# Declares the boot loader option that `iso-image.nix` overrides for the medium.
{ lib, ... }:
{
  options.boot.loader = {
    timeout = lib.mkOption {
      type = lib.types.nullOr lib.types.ints.unsigned;
      default = 5;
      description = "Seconds until the boot menu picks the default entry; null waits forever.";
    };
  };
}
