# Issue 17's string benchmark: 600 000 interpolated strings, joined, and filtered with `match`.
let
  items = builtins.genList (i: "item-${toString i}") 600000;
  joined = builtins.concatStringsSep "," items;
  matching = builtins.filter (s: builtins.match "item-1.*" s != null) items;
in [ (builtins.stringLength joined) (builtins.length matching) ]
