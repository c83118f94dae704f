let inherit (builtins) hashFile; in hashFile "sha256" ./io-no-such-file
