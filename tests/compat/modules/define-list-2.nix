{ list = [ 2 ]; }
