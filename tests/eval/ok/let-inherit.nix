let x = 1; set = { y = 2; z = 3; }; in let inherit x; inherit (set) y z; in [ x y z ]
