# Benchmark input: a profile's whole `config` except `system.build` (the image builders, issue 6), as
# issue 4's target measures it: `--strict --json` of this. The package set is the test stand-in
# (tests/module/support/fake-pkgs.nix), so nix-instantiate and kiln evaluate exactly the same thing.
{ profile }:
let
  config = (import ../../module/support/eval-profile.nix profile).config;
in
config // { system = removeAttrs config.system [ "build" ]; }
