let
  xs = builtins.genList (i: builtins.bitXor (i * 7919) 104729 - (i / 3) * 17) 100000;
  sorted = builtins.sort (a: b: a < b) xs;
in [ (builtins.head sorted) (builtins.elemAt sorted 50000) (builtins.length sorted) ]
