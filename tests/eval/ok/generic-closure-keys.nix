# `genericClosure` keeps the first element of each key: string keys, integer keys, and floats that
# equal integers.
[
  (builtins.genericClosure {
    startSet = [ { key = "a"; n = 0; } { key = "b"; n = 1; } ];
    operator = x: if x.n < 6 then [ { key = builtins.substring 0 1 "abc${toString x.n}"; n = x.n + 1; } { key = "k${toString (x.n / 2)}"; n = x.n + 1; } ] else [ ];
  })
  (builtins.genericClosure {
    startSet = [ { key = 1; } { key = 1.0; } { key = 2.5; } ];
    operator = x: if x.key < 5 then [ { key = x.key + 1; } ] else [ ];
  })
]
