# The minimal installer: no X, no GNOME, its own edition and compression, EFI and USB bootable.
let
  config = (import ./support/eval-profile.nix ../../profiles/installer/cd-dvd/installation-cd-minimal.nix).config;
in
{
  inherit (config.isoImage) isoName volumeID edition squashfsCompression makeEfiBootable makeUsbBootable makeBiosBootable;
  xserver = config.services.xserver.enable;
  systemPackages = map (p: p.name) config.environment.systemPackages;
  initrdCompressor = config.boot.initrd.compressor;
}
