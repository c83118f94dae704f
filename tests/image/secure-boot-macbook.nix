# The MacBook installer (GNOME off) with Secure Boot: Broadcom's `wl` is built by kiln and not
# signed, which the kernel in lockdown refuses, so the build warns (build_cli.rs).
{ ... }:
{
  imports = [ ./macbook-test.nix ];
  isoImage.secureBoot = true;
}
