builtins.split "[" "a"
