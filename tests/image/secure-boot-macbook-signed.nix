# The MacBook installer (GNOME off; Secure Boot's chain, the installers' default) with Broadcom's `wl` signed with a test key
# (`keys/`, made for the tests and published with them: never use it for anything else).
# boot.rs boots it with the certificate enrolled in the firmware's `db` (wl loads) and without (the
# kernel refuses wl), and checks that the key's bytes are nowhere in the ISO.
{ lib, ... }:
{
  imports = [ ./macbook-test.nix ];
  boot.moduleSigning = {
    key = ./keys/module-signing-test.key;
    certificate = ./keys/module-signing-test.crt;
  };
  isoImage.edition = lib.mkOverride 40 "macbook-signed";
}
