[
  (builtins.genericClosure { startSet = [ { key = 1; } ]; operator = x: if x.key < 5 then [ { key = x.key + 1; } { key = x.key * 2; } ] else [ ]; })
  (builtins.genericClosure { startSet = [ ]; operator = x: [ ]; })
  (builtins.genericClosure { startSet = [ { key = "b"; v = 1; } { key = "a"; } { key = "b"; v = 2; } ]; operator = x: [ ]; })
  (builtins.genericClosure { startSet = [ { key = [ 1 2 ]; } { key = [ 1 2 ]; } { key = [ 1 ]; } ]; operator = x: [ ]; })
  (builtins.genericClosure { startSet = [ { key = 1; } { key = 1.0; } { key = 2.5; } ]; operator = x: [ ]; })
  (builtins.length (builtins.genericClosure { startSet = [ { key = 0; } ]; operator = x: if x.key < 1000 then [ { key = x.key + 1; } ] else [ ]; }))
]
