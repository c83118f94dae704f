let x = [ 1 ]; e = [ ]; in [ x x e e { } { } ]
