let
  calls = builtins.sort (a: b: builtins.trace "${toString a}" (a < b)) [ 5 3 1 4 2 9 8 7 6 0 ];
  # A comparator that is not a strict weak order exposes the algorithm.
  odd = builtins.sort (a: b: builtins.bitAnd a 1 == 0) [ 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 ];
in [ calls odd ]
