let inherit (builtins) hashFile; in [
  (hashFile "sha256" ./io-data/hello.txt) (hashFile "md5" ./io-data/sub/inner.txt)
  (map builtins.placeholder [ "out" "dev" "" ])
]
