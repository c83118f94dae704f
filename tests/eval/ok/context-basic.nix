let
  p = "/nix/store/0c2hmmxcb0i9lmbx8b5r0yk7a6wqdbl3-foo";
  d = "/nix/store/1c2hmmxcb0i9lmbx8b5r0yk7a6wqdbl3-foo.drv";
  s = builtins.appendContext "x" { ${p} = { path = true; }; };
  t = builtins.appendContext "y" { ${d} = { outputs = [ "out" "dev" ]; allOutputs = true; path = false; }; };
  u = builtins.appendContext "z" { ${d} = { outputs = [ "lib" ]; }; ${p} = { }; };
  ctx = builtins.getContext;
in [
  (ctx s) (ctx t) (ctx u) (ctx (s + t + u)) (ctx "${s}${t}") (ctx "plain")
  (builtins.hasContext s) (builtins.hasContext "plain") (builtins.hasContext (builtins.unsafeDiscardStringContext s))
  (builtins.unsafeDiscardStringContext t) (ctx (builtins.unsafeDiscardOutputDependency t))
  (ctx (builtins.unsafeDiscardOutputDependency u))
  (ctx (builtins.substring 0 0 s)) (ctx (builtins.toJSON [ s ])) (ctx (builtins.elemAt (builtins.split "q" s) 0))
  (ctx (builtins.elemAt (builtins.split "x" s) 0))
  (ctx (builtins.replaceStrings [ "x" ] [ s ] "axb")) (ctx (builtins.replaceStrings [ "q" ] [ s ] "axb"))
  (ctx (builtins.concatStringsSep s [ "a" "b" ])) (ctx (builtins.toXML s)) (builtins.hashString "md5" s)
  (builtins.stringLength s) (s == "x") (ctx (builtins.appendContext s { }))
]
