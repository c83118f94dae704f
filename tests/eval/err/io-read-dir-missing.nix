let inherit (builtins) readDir; in readDir ./io-no-such-dir
