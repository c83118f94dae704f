let f = x: x; in [ (f == f) ([ f ] == [ f ]) (map == map) ({ a = f; } == { a = f; }) ]
