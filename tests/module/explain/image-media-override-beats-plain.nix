# explain: boot.loader.timeout
# iso-image.nix's mkImageMediaOverride (60) beats a plain assignment (100) in the user's profile.
{ ... }:
{
  imports = [ ../../../profiles/installer/cd-dvd/installation-cd-minimal.nix ];
  boot.loader.timeout = 3;
}
