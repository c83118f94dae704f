[
  (builtins.length (builtins.attrNames (builtins.groupBy (x: "k") [ (throw "lazy") ])))
  (builtins.attrNames (builtins.zipAttrsWith (n: v: throw "lazy") [ { a = 1; } ]))
  (builtins.length (builtins.partition (x: true) [ 1 ]).right)
]
