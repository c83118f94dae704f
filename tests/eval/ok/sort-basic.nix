let s = builtins.sort; in [
  (s builtins.lessThan [ 5 3 1 4 2 9 8 7 6 0 11 15 13 12 14 10 16 ]) (s (a: b: a < b) [ ]) (s (a: b: a < b) [ 1 ])
  (s (a: b: a > b) [ 1 3 2 ]) (s (a: b: true) [ 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 ])
  (s (a: b: false) [ 3 1 2 ]) (s (a: b: a.k < b.k) [ { k = 2; v = "a"; } { k = 1; v = "b"; } { k = 2; v = "c"; } { k = 1; v = "d"; } ])
  (s builtins.lessThan [ "b" "a" "ab" "" ]) (s builtins.lessThan [ 2.5 1 3 (-1) ]) (s builtins.lessThan [ [ 2 ] [ 1 3 ] [ 1 ] ])
  (s (a: b: builtins.stringLength a < builtins.stringLength b) [ "ccc" "a" "bb" "x" "yy" "zzz" "" ])
]
