# The common part of every installer ISO: the medium, all hardware, redistributable firmware, base tools,
# and the live user `kiln`.
{ config, lib, pkgs, ... }:
{
  imports = [
    ./iso-image.nix
    ../../common/all-hardware.nix
    ../../common/base.nix
  ];

  isoImage.isoBaseName = lib.mkDefault "kiln-installer";
  isoImage.makeEfiBootable = true;
  isoImage.makeUsbBootable = true;
  # UEFI through Debian's signed shim and GRUB: the ISO starts on a PC as it comes from the shop,
  # Secure Boot on with Microsoft's keys, as Debian's own live ISOs do.
  isoImage.secureBoot = lib.mkDefault true;

  hardware.enableRedistributableFirmware = true;

  networking.hostName = lib.mkDefault "kiln-installer";

  # The live user, as NixOS's installer has `nixos`: logged in on every console, no password,
  # sudo without one; in `video`, as `nixos` is, so that a desktop's X server, which runs as the
  # user, can open the firmware's framebuffer where there is no KMS driver (`nomodeset`).
  users.users.kiln = {
    isNormalUser = true;
    description = "kiln live user";
    extraGroups = [ "wheel" "video" ];
    initialHashedPassword = "";
  };
  users.users.root.initialHashedPassword = "";
  security.sudo.wheelNeedsPassword = false;
  services.getty.autologinUser = "kiln";
}
