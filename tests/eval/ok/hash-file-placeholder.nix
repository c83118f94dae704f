[
  (builtins.hashFile "sha256" ./io-data/hello.txt) (builtins.hashFile "md5" ./io-data/sub/inner.txt)
  (map builtins.placeholder [ "out" "dev" "" ])
]
