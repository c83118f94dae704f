<nixpkgs> { }
