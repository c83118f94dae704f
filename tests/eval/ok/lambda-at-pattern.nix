let f = args@{ a, ... }: [ a (builtins.attrNames args) ]; g = { a } @ all: all.a; in [ (f { a = 1; b = 2; }) (g { a = 3; }) ]
