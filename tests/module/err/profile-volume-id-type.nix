# A volume ID with lower-case letters does not match the type ISO 9660 allows.
(import ../support/eval-profile.nix {
  _file = "my-profile.nix";
  imports = [ ../../../profiles/installer/cd-dvd/installation-cd-minimal.nix ];
  isoImage.volumeID = "my-iso";
}).config.isoImage.volumeID
