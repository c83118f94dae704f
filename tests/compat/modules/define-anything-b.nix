{ free = { a.c = 2; }; }
