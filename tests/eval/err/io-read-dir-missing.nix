builtins.readDir ./io-no-such-dir
