# 100 000 nested lists: nix 2.8 overflows its stack (40 000 still print); kiln stops at 50 000.
builtins.toJSON (builtins.foldl' (acc: _: [ acc ]) [ ] (builtins.genList (x: x) 100000))
