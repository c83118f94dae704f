let v = { a = [ 1 2.5 "x\ny" null true { b = false; } ]; c = "é\t"; d = { }; e = [ ]; f = -3; };
in [ (builtins.fromJSON (builtins.toJSON v) == v) (builtins.fromJSON (builtins.toJSON v)) ]
