let s = { }; y = "b"; in s ? "a${y}"
