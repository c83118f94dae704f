[
  (builtins.fromTOML "a = 1\nb = [1.5, \"x\", true]\n[c]\nd = \"e\"\n[[f]]\ng = 1\n[[f]]\ng = 2\n")
  (builtins.fromTOML "a.b.c = 1\n\"x y\" = 2\nh = 0xff\no = 0o7\nbi = 0b11\nexp = 1e3\nund = 1_000\nml = \"\"\"\nabc\"\"\"\nlit = 'c:\\x'\n")
  (builtins.fromTOML "") (builtins.fromTOML "# comment\n[empty]\n") (builtins.fromTOML "inline = { x = 1, y = [ ] }")
]
