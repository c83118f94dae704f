{ list = [ "three" ]; }
