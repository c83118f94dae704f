let f = x: y: x; x = 1; y = 2; or = 3; in f x or y
