[
  (builtins.fromJSON "[1, 1.0, 1e2, -0, 1E+2, 0.5, 9223372036854775807, -9223372036854775808, -0.0]")
  (builtins.fromJSON "9223372036854775808") (builtins.fromJSON "18446744073709551615")
  (builtins.fromJSON "18446744073709551616") (builtins.fromJSON "-9223372036854775809")
  (builtins.fromJSON "\"\\u00e9\\ud83d\\ude00\\n\\/\"") (builtins.fromJSON "{\"b\":1,\"a\":2,\"a\":3}")
  (builtins.fromJSON "  true  ") (builtins.fromJSON "1.5e3") (builtins.fromJSON "-1") (builtins.fromJSON "\"a\\u0000b\"")
  (builtins.fromJSON "{\"a\":{\"b\":[]}, \"c\":{}, \"d\": null, \"e\": false}")
  (builtins.fromJSON "1.7976931348623157e308") (builtins.fromJSON "\n[ \"x\" ,\r\n\t2 ]\n")
  (builtins.fromJSON "0.1") (builtins.fromJSON "123456789012") (builtins.fromJSON "1e-5")
]
