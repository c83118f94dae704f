let a = 1; b = a + c; c = 10; in [ a b c ]
