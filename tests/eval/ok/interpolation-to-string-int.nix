# `${toString n}` of an evaluated integer is written as its digits; a shadowed `toString`, a float,
# a Boolean and an unevaluated argument take the ordinary path.
let
  n = -42;
  m = 0;
  big = 9223372036854775807;
  least = -9223372036854775807 - 1;
  f = x: "a${toString x}b${toString (x + 1)}${toString n}${toString m}";
in
[
  (f 5)
  (f (-1))
  "${toString big}"
  "${toString least}"
  (let toString = x: "shadow"; in "${toString 1}")
  "${toString 1.5}"
  "${toString true}"
  "${toString [ 1 2 ]}-${toString null}"
  (builtins.concatStringsSep "," (builtins.genList (i: "item-${toString i}") 12))
]
