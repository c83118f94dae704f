let x = { a = 1; }; in { b = x; c = x; }
