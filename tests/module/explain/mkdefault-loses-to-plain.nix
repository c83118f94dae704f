# explain: networking.hostName
# The installer base's mkDefault (1000) loses to a plain definition (100); the default (1500) loses too.
{ ... }:
{
  imports = [ ../../../profiles/installer/cd-dvd/installation-cd-minimal.nix ];
  networking.hostName = "lab";
}
