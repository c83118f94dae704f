let gt = a: b: a > b; in builtins.sort gt [ [ 1 ] [ (x: x) ] ]
