# `kiln diff` of two profiles (crates/kiln-cli/tests/manifest.rs): the minimal installer, pinned by
# tests/image/kiln.lock ...
{ ... }:
{
  imports = [ ../../../profiles/installer/cd-dvd/installation-cd-minimal.nix ];
}
