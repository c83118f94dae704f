# nix 2.8's attribute positions: every name of an `inherit` sits right after the keyword (or after
# `(e)`), and every name of a nested path `a.b.c = …` at the start of the path.
let
  p = n: v: builtins.unsafeGetAttrPos n v;
  a = 1;
  b = 2;
  s = { c = 3; };
in
[
  (p "a" { inherit a; })
  (p "b" { inherit    a   b; })
  (p "c" { inherit (s) c; })
  (p "c" { inherit ( s ) /* ) */ c; })
  (p "a" { x = 1;  inherit  a; })
  (p "a" { a.b = 1; })
  (p "b" { a.b = 1; }.a)
  (p "c" { a.b = 1; a.c = 2; }.a)
  (p "c" { a = { b = 1; }; a.c = 2; }.a)
  (p "y" { x.y.z = 1; }.x)
  (p "a" (rec { inherit a; }))
  (p "a" (let x = { inherit a; }; in x))
]
