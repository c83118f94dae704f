{ enable = "not a boolean"; }
