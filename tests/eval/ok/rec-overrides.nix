# `rec { __overrides = …; }`: the overrides replace attributes in the result and in the recursive
# scope (so `b = a` sees the new `a`), add names the set lacks, and carry their own positions.
let
  p = n: v: builtins.unsafeGetAttrPos n v;
  y = 3;
in
[
  (rec { __overrides = { a = 2; }; a = 1; b = a; })
  (rec { __overrides = { c = 2; }; a = 1; b = a; })
  (rec { __overrides = { a = b; }; a = 1; b = 5; c = a; })
  (rec { __overrides = { a = 2; }; a = 1; ${"d"} = a; })
  (rec { __overrides = { a = 2; }; inherit y; a = y; b = [ a y ]; })
  { __overrides = { a = 2; }; a = 1; }
  (p "a" (rec { __overrides = { a = 2; }; a = 1; }))
]
