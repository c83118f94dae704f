{ a, b ? 2, c ? "x" }: { sum = a + b; inherit c; nested = { list = [ a b ]; f = x: x; }; }
