let a = true; b = false; c = true; d = false; in a && b || c -> d -> a
