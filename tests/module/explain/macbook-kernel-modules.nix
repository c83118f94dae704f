# explain: boot.kernelModules
# The macbook profile's modules: five plain list definitions merged in reverse module order.
{ ... }:
{
  imports = [ ../../../profiles/installer/cd-dvd/installation-cd-graphical-gnome-macbook.nix ];
}
