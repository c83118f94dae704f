builtins.fromJSON "\"\\ud800\""
