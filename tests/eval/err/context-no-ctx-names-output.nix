# The error names the first context element in nix's encoding: `!out!<drv>` for an output.
let
  drv = "/nix/store/1c2hmmxcb0i9lmbx8b5r0yk7a6wqdbl3-foo.drv";
  s = builtins.appendContext "x" { ${drv} = { outputs = [ "out" ]; }; };
in
builtins.getEnv s
