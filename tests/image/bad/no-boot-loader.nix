# Bad input: an ISO that boots neither with BIOS nor with UEFI fails the profile's assertion.
{ lib, ... }:
{
  imports = [ ../macbook-test.nix ];
  isoImage.makeEfiBootable = lib.mkForce false;
  isoImage.makeBiosBootable = false;
}
