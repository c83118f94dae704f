# A typo in a profile built on the installer profiles: the suggestions come from the profile library.
(import ../support/eval-profile.nix {
  _file = "my-profile.nix";
  imports = [ ../../../profiles/installer/cd-dvd/installation-cd-graphical-gnome-macbook.nix ];
  boot.kernelModule = [ "wl" ];
}).config.boot.kernelModules
