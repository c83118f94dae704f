let b = 1; a = b; in a
