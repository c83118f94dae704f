# The macbook profile's kernel module lists, in merge order (later imports first, declarations' defaults last).
let
  config = (import ./support/eval-profile.nix ../../profiles/installer/cd-dvd/installation-cd-graphical-gnome-macbook.nix).config;
in
{
  kernelModules = config.boot.kernelModules;
  initrdKernelModules = config.boot.initrd.kernelModules;
  extraModulePackages = map (p: p.name) config.boot.extraModulePackages;
}
