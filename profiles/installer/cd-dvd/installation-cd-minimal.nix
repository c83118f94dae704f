# A small text-mode installer ISO.
{ lib, ... }:
{
  imports = [ ./installation-cd-base.nix ];

  isoImage.edition = lib.mkDefault "minimal";
  isoImage.squashfsCompression = "zstd";
}
