# A small set over a large one (a layered set in kiln), updates of that, lookups, iteration, positions
# and removal must all be what a merged set gives.
let
  big = builtins.listToAttrs (builtins.genList (i: { name = "k${toString i}"; value = i; }) 300);
  small = { k7 = "seven"; new = "n"; k299 = null; };
  layered = big // small;
  twice = layered // { k8 = 8.5; zz = [ ]; new = "again"; };
  onTop = { k1 = 1; } // layered;
in
[
  (builtins.length (builtins.attrNames layered))
  layered.k7
  layered.k6
  layered.new
  (layered ? k299)
  (layered ? k300)
  (builtins.attrNames small)
  (builtins.length (builtins.attrValues twice))
  twice.k8
  twice.new
  twice.k7
  (builtins.elemAt (builtins.attrNames twice) 0)
  (builtins.elemAt (builtins.attrNames twice) 301)
  (onTop.k7)
  (builtins.removeAttrs twice [ "k0" "new" "zz" ]).k1
  ((builtins.unsafeGetAttrPos "new" layered) != null)
  (builtins.intersectAttrs small twice)
  (builtins.mapAttrs (n: v: n) (builtins.removeAttrs twice (builtins.attrNames big)))
  (layered == big // small)
  (builtins.hasAttr "k123" twice)
  (builtins.getAttr "k250" twice)
]
