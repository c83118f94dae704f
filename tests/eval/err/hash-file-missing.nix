builtins.hashFile "sha256" ./io-no-such-file
