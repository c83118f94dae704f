{ free = { a.b = 1; keep = "x"; }; }
