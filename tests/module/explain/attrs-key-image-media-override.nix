# explain: fileSystems."/"
# One attribute of an `attrsOf` option: iso-image.nix's tmpfs root (mkImageMediaOverride, 60) beats the
# profile's plain root file system (100); the profile's `/home` takes no part in `"/"`.
{ ... }:
{
  imports = [ ../../../profiles/installer/cd-dvd/installation-cd-minimal.nix ];
  fileSystems."/" = { device = "/dev/sda1"; fsType = "ext4"; };
  fileSystems."/home".device = "/dev/sda2";
}
