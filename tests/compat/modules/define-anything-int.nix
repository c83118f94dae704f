{ free = 1; }
