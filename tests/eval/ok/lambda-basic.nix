let f = x: y: x * 10 + y; in [ (f 1 2) ((f 3) 4) ]
