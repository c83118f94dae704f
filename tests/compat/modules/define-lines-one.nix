{ script = "echo one"; }
