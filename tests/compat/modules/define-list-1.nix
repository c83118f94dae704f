{ list = [ 1 ]; }
