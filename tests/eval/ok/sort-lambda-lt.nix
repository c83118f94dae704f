let
  lt = a: b: a < b;
  gt = a: b: a > b;
  xs = [ 3 1.5 (-2) 7 0 2 ];
in [ (builtins.sort lt xs) (builtins.sort gt xs) (builtins.sort (x: y: x < y) [ "b" "a" "" "ab" ]) (builtins.sort (x: y: y < x) [ [ 2 ] [ 1 3 ] [ 1 ] ]) (builtins.sort (x: y: x < x) [ 3 1 2 ]) ]
