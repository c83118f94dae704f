let s = { }; in s ? a ? b
