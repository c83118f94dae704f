# Bad input: a package whose maintainer script fails. `kiln-fails` is an unpacked package as kiln's
# `unpack-deb` leaves one (control area and manifest under `.kiln-deb`), added to the minimal
# installer; dpkg's configuration of the live root fails, naming it and showing the script's output.
{ ... }:
let
  kiln-fails = {
    type = "derivation";
    name = "kiln-fails-1.0";
    pname = "kiln-fails";
    depends = [ ];
    outPath = "${./kiln-fails}";
  };
in
{
  imports = [ ../../../profiles/installer/cd-dvd/installation-cd-minimal.nix ];
  environment.systemPackages = [ kiln-fails ];
}
