# Bad input: an `environment.etc` name that leaves /etc fails the profile's assertions at evaluation.
{ ... }:
{
  imports = [ ../../../profiles/installer/cd-dvd/installation-cd-minimal.nix ];
  environment.etc."../shadow".text = "root::0:0:99999:7:::\n";
}
