# `match` with capture groups and `split` over 100 000 strings, with a handful of patterns.
let
  items = builtins.genList (i: "pkg-${toString i}.${toString (i * 7)}-x86_64-linux") 100000;
  versions = map (s: builtins.match "([a-z]+)-([0-9]+)\\.([0-9]+)-(.*)" s) items;
  parts = map (s: builtins.split "[-.]" s) items;
  hasLinux = builtins.filter (s: builtins.match ".*-linux" s != null) items;
in [
  (builtins.length versions)
  (builtins.foldl' (acc: v: acc + builtins.stringLength (builtins.elemAt v 1)) 0 versions)
  (builtins.foldl' (acc: p: acc + builtins.length p) 0 parts)
  (builtins.length hasLinux)
]
