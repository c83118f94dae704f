import ./lib/value.nix
