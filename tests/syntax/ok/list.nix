let f = x: x; in [ 1 (f 2) f.x or 3 "s" ]
