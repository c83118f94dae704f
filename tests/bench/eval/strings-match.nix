# The `match` filter of `strings-600k` alone, on 600 000 strings.
let
  items = builtins.genList (i: "item-${toString i}") 600000;
in builtins.length (builtins.filter (s: builtins.match "item-1.*" s != null) items)
