{ script = "echo two"; }
