rec { inherit x; x = 1; }
