# The names of all options the profile library declares, as `kiln options` lists them.
let
  options = (import ./support/eval-profile.nix ../../profiles/installer/cd-dvd/installation-cd-minimal.nix).options;
  lib = import ../../crates/kiln-module/lib;
in
map (o: o.name) (lib.optionsList options)
