{ a = { bbb = 1; }; }.a.bb
