~/x/y
