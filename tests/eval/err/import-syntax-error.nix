import ./files/syntax-error.nix
