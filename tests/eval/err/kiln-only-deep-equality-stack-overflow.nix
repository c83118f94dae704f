let d = builtins.foldl' (acc: x: [ acc ]) [ ] (builtins.genList (x: x) 200000); in d == builtins.foldl' (acc: x: [ acc ]) [ ] (builtins.genList (x: x) 200000)
