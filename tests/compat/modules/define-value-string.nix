{ value = "24"; }
