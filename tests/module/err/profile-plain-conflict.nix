# A plain assignment against the installer base's plain `isoImage.makeEfiBootable = true` conflicts; the
# error names both files and lines (the fix is `mkForce`).
(import ../support/eval-profile.nix {
  imports = [ ../../../profiles/installer/cd-dvd/installation-cd-minimal.nix ];
  isoImage.makeEfiBootable = false;
}).config.isoImage.makeEfiBootable
