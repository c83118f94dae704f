# Reading `boot.kernelModules` of the macbook profile evaluates no package: with a package set in which
# every package but the kernel set throws, the kernel options still evaluate.
let
  fake = import ./support/fake-pkgs.nix;
  pkgs = builtins.mapAttrs (name: _: throw "pkgs.${name} was evaluated") fake // { inherit (fake) linuxPackages; };
  config = (import ../../profiles/eval-config.nix {
    modules = [ ../../profiles/installer/cd-dvd/installation-cd-graphical-gnome-macbook.nix ];
    inherit pkgs;
  }).config;
in
{
  inherit (config.boot) kernelModules;
  extraModulePackages = map (p: p.name) config.boot.extraModulePackages;
  packagesAreUnread = !(builtins.tryEval (builtins.head config.environment.systemPackages)).success;
}
