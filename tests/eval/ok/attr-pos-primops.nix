# unsafeGetAttrPos through every primop that builds or passes on a set: nix 2.8 keeps the
# position where an attribute is carried over (`//`, intersectAttrs, removeAttrs, listToAttrs from
# its `name`), gives the formal's for functionArgs, and none for mapAttrs and computed sets.
let
  s = { a = 1; b = 2; };
  t = { b = 3; c = 4; };
  p = n: v: builtins.unsafeGetAttrPos n v;
in {
  lit = p "a" s;
  mapAttrs = p "a" (builtins.mapAttrs (n: v: v) s);
  listToAttrs = p "a" (builtins.listToAttrs [ { name = "a"; value = 1; } ]);
  listToAttrsFromLit = p "name" (builtins.listToAttrs [ { name = "name"; value = 1; } ]);
  updateLeft = p "a" (s // t);
  updateRight = p "c" (s // t);
  updateBoth = p "b" (s // t);
  updateEmptyL = p "a" ({} // s);
  updateEmptyR = p "a" (s // {});
  intersect = p "b" (builtins.intersectAttrs t s);
  intersect2 = p "b" (builtins.intersectAttrs s t);
  removeAttrs = p "b" (builtins.removeAttrs s [ "a" ]);
  functionArgs = p "x" (builtins.functionArgs ({ x, y ? 1 }: x));
  functionArgsY = p "y" (builtins.functionArgs ({ x, y ? 1 }: x));
  zipAttrsWith = p "a" (builtins.zipAttrsWith (n: v: v) [ s ]);
  groupBy = p "x" (builtins.groupBy (x: "x") [ 1 ]);
  partition = p "right" (builtins.partition (x: true) [ 1 ]);
  fromJSON = p "a" (builtins.fromJSON "{\"a\":1}");
  parseDrvName = p "name" (builtins.parseDrvName "a-1");
  tryEval = p "value" (builtins.tryEval 1);
  recAttr = p "a" (rec { a = 1; });
  letInherit = p "a" (let a = 1; in { inherit a; });
  catAttrsLike = p "a" (builtins.getAttr "x" { x = s; });
  dynamic = p "a" { ${"a"} = 1; };
  nestedSelect = p "b" { a.b = 1; }.a;
  mapAttrsNested = p "b" (builtins.mapAttrs (n: v: v) { a.b = 1; }).a;
  withOverride = p "a" (s // { a = 5; });
  sortedList = p "a" (builtins.head (builtins.sort (x: y: true) [ s ]));
  attrsFn = p "a" ((x: x) s);
  seq = p "a" (builtins.seq 1 s);
  genericClosure = p "key" (builtins.head (builtins.genericClosure { startSet = [ { key = 1; } ]; operator = x: []; }));
  splitVersion = p "a" (builtins.foldl' (acc: x: acc // x) {} [ s ]);
  fromTOML = p "a" (builtins.fromTOML "a = 1");
  getContext = p "a" (builtins.getContext "x");
}
