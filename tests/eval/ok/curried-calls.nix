# Curried lambdas applied to several arguments at once, partially, through builtins, with defaults and
# set patterns in between.
let
  add3 = a: b: c: a + b + c;
  partial = add3 1;
  pat = { x, y ? 2 }: z: x + y + z;
  flip = f: a: b: f b a;
  minus = a: b: a - b;
in
[
  (add3 1 2 3)
  (partial 2 3)
  (builtins.foldl' (acc: x: acc * 10 + x) 0 [ 1 2 3 ])
  (builtins.sort (a: b: a > b) [ 1 3 2 ])
  (builtins.sort (a: b: a.k < b.k) [ { k = 2; v = "b"; } { k = 1; v = "a"; } { k = 2; v = "c"; } ])
  (pat { x = 1; } 3)
  (flip minus 1 10)
  (builtins.mapAttrs (n: v: n + v) { a = "1"; b = "2"; })
  (builtins.zipAttrsWith (n: vs: [ n ] ++ vs) [ { a = 1; } { a = 2; b = 3; } ])
  (map (add3 1 1) [ 1 2 ])
]
