{ b = 2; a = 1; c = { d = "x"; }; "with space" = true; }
