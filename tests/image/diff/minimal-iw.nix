# ... and the same with one package more, `iw` (which brings the two libnl libraries it links with).
{ pkgs, ... }:
{
  imports = [ ./minimal.nix ];
  environment.systemPackages = [ pkgs.iw ];
}
