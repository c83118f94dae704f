builtins.toXML { a = 1; b = "x<>&\"'\n\té"; c = [ true null 1.5 0.1 1.0e20 ]; d = x: x; e = { y, z ? 1, ... }: y; f = {p}@q: p;
  h = {}; i = []; j = { outPath = "/x"; type = "derivation"; drvPath = "/d"; name = "n"; };
  k = [ { type = "derivation"; drvPath = "/d"; outPath = "/o"; } { type = "derivation"; drvPath = "/d"; outPath = "/o"; } ];
  l = { type = "derivation"; }; m = { a.b.c = [ [ ] [ { } ] ]; }; n = false; o = -7; p = builtins.map; }
