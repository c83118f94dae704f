let a = true; b = 1; in !a + b
