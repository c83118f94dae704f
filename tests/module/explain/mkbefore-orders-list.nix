# explain: boot.kernelParams
# mkBefore puts a definition first whatever the module order; the rest keep reverse module order.
{ lib, ... }:
{
  imports = [ ../../../profiles/installer/cd-dvd/installation-cd-minimal.nix ];
  boot.kernelParams = lib.mkBefore [ "console=ttyS0" ];
}
