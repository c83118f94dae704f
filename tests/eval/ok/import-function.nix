import ./lib/function.nix { x = 20; }
