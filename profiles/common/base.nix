# Tools every installer image carries, like NixOS's `profiles/base.nix`.
{ pkgs, ... }:
{
  environment.systemPackages = with pkgs; [
    busybox-static
    parted
    gdisk
    e2fsprogs
    dosfstools
  ];
}
