# Evaluate a profile the way the driver will: `eval-config.nix` with the fake package set.
profile: import ../../../profiles/eval-config.nix {
  modules = [ profile ];
  pkgs = import ./fake-pkgs.nix;
}
