let f = { a ? b * 2, b ? 3 }: a + b; in [ (f { }) (f { b = 1; }) (f { a = 0; }) ]
