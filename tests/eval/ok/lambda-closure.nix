let mk = n: x: x + n; add2 = mk 2; in map add2 [ 1 2 3 ]
