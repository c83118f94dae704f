let x = throw "never"; y = abort "never"; in [ 1 (builtins.length [ x y ]) ({ a = x; } ? a) ]
