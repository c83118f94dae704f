builtins.fromTOML "a = "
