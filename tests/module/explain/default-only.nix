# explain: isoImage.volumeID
# Nothing defines the volume ID: the declaration's default applies.
{ ... }:
{
  imports = [ ../../../profiles/installer/cd-dvd/installation-cd-minimal.nix ];
}
