# `mkForce false` on the GNOME switch in a profile that imports the GNOME installer drops GNOME, GDM, X and the desktop tools: a text-mode image (NetworkManager stays, from the graphical base).
let
  config = (import ./support/eval-profile.nix {
    imports = [ ../../profiles/installer/cd-dvd/installation-cd-graphical-gnome.nix ];
    services.xserver.desktopManager.gnome.enable = (import ../../crates/kiln-module/lib).mkForce false;
  }).config;
in
map (p: p.name) config.environment.systemPackages
