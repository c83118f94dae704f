{ value = 42; }
