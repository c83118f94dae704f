let
  n = 100000;
  big = builtins.listToAttrs (builtins.genList (i: { name = "k${toString i}"; value = i; }) n);
  doubled = builtins.mapAttrs (k: v: v * 2) big;
  merged = big // doubled // { extra = 1; };
  sum = builtins.foldl' (acc: k: acc + merged.${k}) 0 (builtins.attrNames merged);
in [ (builtins.length (builtins.attrNames merged)) sum ]
