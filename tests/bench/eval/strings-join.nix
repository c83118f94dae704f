# The join of `strings-600k` alone: 600 000 interpolated strings and `concatStringsSep`.
let
  items = builtins.genList (i: "item-${toString i}") 600000;
in builtins.stringLength (builtins.concatStringsSep "," items)
