let e6 = 1; in 1e6
