# The Secure Boot test's profile: the minimal installer booting UEFI through Debian's signed
# shim and GRUB (`isoImage.secureBoot`), with a one-second menu so QEMU reaches the system quickly.
{ lib, ... }:
{
  imports = [ ../../profiles/installer/cd-dvd/installation-cd-minimal.nix ];

  isoImage.secureBoot = true;
  boot.loader.timeout = lib.mkForce 1;
  isoImage.edition = lib.mkForce "secure-boot-test";
}
