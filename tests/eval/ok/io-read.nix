[
  (builtins.readFile ./io-data/hello.txt)
  (builtins.readFile (toString ./io-data/hello.txt))
  (builtins.readFile ./io-data/link)
  (builtins.readDir ./io-data)
  (builtins.readDir ./io-data/sub)
  (builtins.pathExists ./io-data/hello.txt)
  (builtins.pathExists ./io-data/missing)
  (builtins.pathExists ./io-data/link)
  (builtins.pathExists ./io-data/sub)
  (builtins.pathExists (toString ./io-data + "/sub"))
  (builtins.getEnv "KILN_TEST_SURELY_UNSET_VARIABLE")
]
