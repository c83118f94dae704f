# The list helpers of `lib`, with the results nixpkgs' functions of the same names give.
let
  lib = import ../../crates/kiln-module/lib;
in
{
  optional = [ (lib.optional true 1) (lib.optional false 1) ];
  optionals = [ (lib.optionals true [ 1 2 ]) (lib.optionals false [ 1 2 ]) ];
  flatten = lib.flatten [ 1 [ 2 [ 3 [ ] ] ] [ [ 4 ] ] ];
  unique = lib.unique [ 3 1 3 2 1 ];
  elem = [ (lib.elem 2 [ 1 2 ]) (lib.elem 3 [ 1 2 ]) ];
  head = lib.head [ 1 2 3 ];
  last = lib.last [ 1 2 3 ];
  init = lib.init [ 1 2 3 ];
  range = [ (lib.range 2 5) (lib.range 3 2) ];
  imap0 = lib.imap0 (i: v: "${toString i}${v}") [ "a" "b" ];
  imap1 = lib.imap1 (i: v: "${toString i}${v}") [ "a" "b" ];
  foldl = lib.foldl (acc: x: acc ++ [ x ]) [ 0 ] [ 1 2 ];
  foldr = lib.foldr (x: acc: acc ++ [ x ]) [ 0 ] [ 1 2 ];
  take = lib.take 2 [ 1 2 3 ];
  drop = lib.drop 2 [ 1 2 3 ];
  sublist = lib.sublist 1 5 [ 1 2 3 ];
  count = lib.count (x: x > 1) [ 1 2 3 ];
  reverseList = lib.reverseList [ 1 2 3 ];
  findFirst = [ (lib.findFirst (x: x > 1) 0 [ 1 2 3 ]) (lib.findFirst (x: x > 5) 0 [ 1 2 3 ]) ];
  remove = lib.remove 2 [ 1 2 3 2 ];
  subtractLists = lib.subtractLists [ 2 ] [ 1 2 3 ];
  intersectLists = lib.intersectLists [ 2 3 ] [ 1 2 3 ];
  zipListsWith = lib.zipListsWith (a: b: a + b) [ 1 2 3 ] [ 10 20 ];
  partition = lib.partition (x: x > 1) [ 1 2 3 ];
  sortOn = lib.sortOn (s: s.k) [ { k = 2; v = "b"; } { k = 1; v = "a"; } { k = 2; v = "c"; } ];
  toList = [ (lib.toList 1) (lib.toList [ 1 ]) ];
  concatMap = lib.concatMap (x: [ x x ]) [ 1 2 ];
  any = lib.any (x: x == 2) [ 1 2 ];
  all = lib.all (x: x == 2) [ 1 2 ];
  replicate = lib.replicate 3 "x";
}
