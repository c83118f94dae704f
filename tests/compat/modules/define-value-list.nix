{ value = [ ]; }
