let
  items = builtins.genList (i: i) 200000;
  joined = builtins.concatStringsSep "," (map toString items);
  spaced = toString items;
in [ (builtins.stringLength joined) (builtins.stringLength spaced) ]
