builtins.appendContext "x" { "/tmp/x" = { path = true; }; }
