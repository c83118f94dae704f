let add1 = builtins.add 1; in [ (add1 2) (map (builtins.mul 2) [ 1 2 ]) ]
