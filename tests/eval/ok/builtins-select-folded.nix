# `builtins.x` is selected once, when compiled; shadowing, `or` and nested selections still behave.
let
  b = builtins;
  f = builtins: builtins.length;
in
[
  (builtins.length [ 1 2 3 ])
  (builtins.builtins.length [ 1 ])
  (builtins.nonexistent or "default")
  (b.match "a(b)" "ab")
  ((f { length = "shadowed"; }))
  (builtins ? match)
  (builtins.isFunction builtins.map)
  (builtins.typeOf builtins.currentSystem)
  (with builtins; length [ ])
]
