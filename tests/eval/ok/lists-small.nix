# Lists of none, one, two and more items, built by literals, builtins and `++`, shared and compared.
let
  one = [ 1 ];
  two = [ "a" "b" ];
  xs = builtins.genList (i: builtins.genList (j: i * 10 + j) i) 4;
  s = { a = one; b = one; c = [ one one ]; };
in
[
  [ ]
  one
  two
  (one ++ two)
  (one ++ [ ])
  ([ ] ++ two)
  xs
  (builtins.concatMap (x: if x / 2 * 2 == x then [ x ] else [ ]) (builtins.genList (i: i) 7))
  (builtins.filter (x: x > 1) [ 1 2 ])
  (map (x: [ x ]) two)
  s
  (one == [ 1 ])
  (builtins.length (builtins.tail [ 1 2 3 ]))
  (builtins.sort (a: b: a < b) [ 3 1 2 ])
  (builtins.elemAt two 1)
]
