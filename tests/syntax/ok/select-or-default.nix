let s = { }; in s.a.b or 2
