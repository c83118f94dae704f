let d = builtins.foldl' (acc: x: { a = acc; }) { } (builtins.genList (x: x) 200000); in builtins.attrNames d
