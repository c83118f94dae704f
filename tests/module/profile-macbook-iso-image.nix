# The macbook profile's `isoImage.*`, file systems and boot loader settings, with the fake package set.
let
  config = (import ./support/eval-profile.nix ../../profiles/installer/cd-dvd/installation-cd-graphical-gnome-macbook.nix).config;
in
{
  inherit (config) isoImage fileSystems networking;
  inherit (config.boot) loader kernelParams;
}
