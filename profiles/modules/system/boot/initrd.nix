# Declares how the initrd is packed (`boot.initrd.compressor`); the image builder reads it.
{ lib, ... }:
{
  options.boot.initrd.compressor = lib.mkOption {
    type = lib.types.enum [ "zstd" "gzip" "xz" ];
    default = "zstd";
    description = "The compression of the initrd's cpio archive.";
  };
}
