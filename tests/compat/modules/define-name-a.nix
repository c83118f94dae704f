{ name = "a"; }
