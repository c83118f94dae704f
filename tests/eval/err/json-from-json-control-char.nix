builtins.fromJSON "\"a\tb\""
