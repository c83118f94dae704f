# `iso-image.nix` asserts that the ISO boots somehow; the driver reports the failed assertions' messages.
let
  lib = import ../../crates/kiln-module/lib;
  eval = profile: (import ./support/eval-profile.nix {
    imports = [ ../../profiles/installer/cd-dvd/installation-cd-minimal.nix profile ];
  }).config;
  failed = config: map (a: a.message) (builtins.filter (a: !a.assertion) config.assertions);
in
{
  minimal = failed (eval { });
  unbootable = failed (eval { isoImage.makeBiosBootable = false; isoImage.makeEfiBootable = lib.mkForce false; });
}
