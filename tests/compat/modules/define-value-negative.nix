{ value = -23; }
