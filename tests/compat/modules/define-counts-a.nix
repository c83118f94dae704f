{ counts.a = 1; }
