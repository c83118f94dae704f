let inherit (builtins) readFile readDir pathExists getEnv; in [
  (readFile ./io-data/hello.txt)
  (readFile (toString ./io-data/hello.txt))
  (readFile ./io-data/link)
  (readDir ./io-data)
  (readDir ./io-data/sub)
  (pathExists ./io-data/hello.txt)
  (pathExists ./io-data/missing)
  (pathExists ./io-data/link)
  (pathExists ./io-data/sub)
  (pathExists (toString ./io-data + "/sub"))
  (pathExists "/surely/not/here")
  (getEnv "KILN_TEST_SURELY_UNSET_VARIABLE")
]
