[ (baseNameOf "/a/b/c.nix") (baseNameOf "/a/b/") (baseNameOf "x") (dirOf "/a/b/c") (dirOf "/a") (dirOf "rel") (builtins.toPath "/a/../b/./c") ]
