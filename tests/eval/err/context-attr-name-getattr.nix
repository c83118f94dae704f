# `getAttr`, `hasAttr`, `removeAttrs`, `catAttrs` and `listToAttrs` take names without context.
let
  s = builtins.appendContext "a" { "/nix/store/0c2hmmxcb0i9lmbx8b5r0yk7a6wqdbl3-foo" = { path = true; }; };
in
builtins.hasAttr s { a = 1; }
