builtins.appendContext "x" { "/nix/store/0c2hmmxcb0i9lmbx8b5r0yk7a6wqdbl3-foo" = { outputs = [ "out" ]; }; }
