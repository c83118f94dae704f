let a' = 1; _b = 2; c-d = 3; e_'-f = 4; in [ a' _b c-d e_'-f ]
