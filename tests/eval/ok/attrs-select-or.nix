[ ({ a = 1; }.a) ({ a = 1; }.b or 2) ({ a = { b = 1; }; }.a.c or "d") ({ a = 1; }.a.b or "not a set") ]
