builtins.readFile ./io-no-such-file
