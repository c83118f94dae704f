let f = a: b: a; in (f 1) 2
