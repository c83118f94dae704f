[
  (builtins.groupBy (x: if x > 2 then "big" else "small") [ 1 2 3 4 ])
  (builtins.groupBy (x: x.n) [ { n = "a"; v = 1; } { n = "b"; v = 2; } { n = "a"; v = 3; } ])
  (builtins.groupBy (x: x) [ ]) (builtins.partition (x: x > 2) [ 1 2 3 4 ]) (builtins.partition (x: true) [ ])
  (builtins.partition (x: x == "a") [ "a" "b" "a" ])
  (builtins.zipAttrsWith (name: values: { inherit name values; }) [ { a = 1; b = 2; } { b = 3; c = 4; } { } ])
  (builtins.zipAttrsWith (n: v: v) [ ]) (builtins.zipAttrsWith (n: builtins.length) [ { x = 1; } { x = 2; } ])
]
