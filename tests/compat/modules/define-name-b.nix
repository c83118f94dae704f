{ name = "b"; }
