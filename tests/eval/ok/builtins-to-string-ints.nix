let
  ints = [ 0 7 9 10 99 100 101 999 1000 12345 (-1) (-10) (-100) (-12345) 9223372036854775807 (-9223372036854775807 - 1) ];
in
[
  (map toString ints)
  (toString ints)
  (builtins.concatStringsSep "," (map toString ints))
  (toString [ 1 [ ] [ [ ] ] 2 "a" null true (-3) ])
  (toString (builtins.genList (i: i * i) 12))
  ("x" + toString 42 + "${toString (-42)}")
  (builtins.stringLength (toString (builtins.genList (i: i) 1000)))
]
