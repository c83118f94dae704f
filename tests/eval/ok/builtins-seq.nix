[ (builtins.seq 1 2) (builtins.seq { a = throw "lazy"; } 3) (builtins.deepSeq [ 1 { a = 2; } ] 4) ]
