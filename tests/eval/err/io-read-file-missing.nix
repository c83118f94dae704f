let inherit (builtins) readFile; in readFile ./io-no-such-file
