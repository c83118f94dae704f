builtins.readFile "relative/path"
