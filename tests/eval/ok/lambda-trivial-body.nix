# Lambdas whose body is a constant or a variable: the argument, an outer variable, a constant.
let
  a = 5;
  id = x: x;
  const = _: a;
  outer = y: (x: y) 2;
  unused = _: null;
in
[
  (id 1)
  (id (1 + 1))
  (map id [ 1 2 ])
  (map const [ 1 2 ])
  (outer "y")
  (unused (throw "never forced"))
  (builtins.genList (i: i) 3)
  (builtins.genList (_: "s") 2)
  (builtins.tryEval (id (throw "caught")))
]
