# A dynamic attribute name must not carry a string context (nix's forceStringNoCtx).
let
  s = builtins.appendContext "x" { "/nix/store/0c2hmmxcb0i9lmbx8b5r0yk7a6wqdbl3-foo" = { path = true; }; };
in
{ ${s} = 1; }
