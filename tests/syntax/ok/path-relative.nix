./a/b
