# explain: isoImage.makeEfiBootable
# A conflict: explain shows the error as the value and both definitions.
{ ... }:
{
  imports = [ ../../../profiles/installer/cd-dvd/installation-cd-minimal.nix ];
  isoImage.makeEfiBootable = false;
}
