[
  (builtins.toJSON [1.0 0.1 1.0e20 1.0e21 1.5e-7 123456789.123 (-0.0) 3.0e-5 1.0e100 0.30000000000000004 100000.0 1234567.0 1.0e15 (1.0 / 3.0) 2.5e-300 999999.5 0.5 (-2.5)])
  (builtins.toJSON (builtins.fromJSON "\"\\u0001\\u001f\\u007f\\u0080 é \\b\\f\""))
  (builtins.toJSON "a\"b\\c\n\t\r /")
  (builtins.toJSON { b = 1; a = [true false null]; c = { }; d = [ ]; e = "s"; })
  (builtins.toJSON { outPath = "x"; a = 1; })
  (builtins.toJSON { __toString = s: "y"; a = 1; })
  (builtins.toJSON { outPath = 1; })
  (builtins.toJSON { outPath = "/a"; __toString = s: "b"; })
  (builtins.toJSON { a = { outPath = "p"; }; b.c.d = [ 1 2 { e = null; } ]; })
  (builtins.toJSON 9223372036854775807) (builtins.toJSON (-9223372036854775807)) (builtins.toJSON "")
  (builtins.toJSON "日本")
  (builtins.toJSON { "a b" = 1; "\"" = 2; "" = 3; })
]
