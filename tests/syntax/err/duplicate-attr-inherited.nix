let a = 1; in { inherit a; a.b = 1; }
