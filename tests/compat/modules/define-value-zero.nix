{ value = 0; }
