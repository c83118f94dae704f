let f = x: x; in [ f map (map f) (builtins.add 1) builtins.head ]
