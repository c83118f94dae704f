# List helpers (`optional`, `flatten`, `unique`, `range`, ...) with nixpkgs' names and results.
{ lib }:
let
  inherit (builtins) length elemAt genList filter foldl' head tail concatLists;
in
{
  inherit (builtins) length elemAt genList filter foldl' head tail concatLists concatMap map elem any all sort;

  # nixpkgs names `foldl'` also `foldl` (lazy accumulator; the difference is invisible here).
  foldl = op: nul: list: foldl' op nul list;

  foldr = op: nul: list:
    let
      len = length list;
      go = n: if n == len then nul else op (elemAt list n) (go (n + 1));
    in
    go 0;

  optional = cond: elem: if cond then [ elem ] else [ ];

  optionals = cond: elems: if cond then elems else [ ];

  toList = x: if builtins.isList x then x else [ x ];

  singleton = x: [ x ];

  # Flatten arbitrarily nested lists; a non-list becomes a one-element list.
  flatten = x: if builtins.isList x then builtins.concatMap lib.flatten x else [ x ];

  # Remove later duplicates, keeping the first occurrence of each element.
  unique = foldl' (acc: e: if builtins.elem e acc then acc else acc ++ [ e ]) [ ];

  last = list:
    assert lib.assertMsg (list != [ ]) "lists.last: list must not be empty!";
    elemAt list (length list - 1);

  init = list:
    assert lib.assertMsg (list != [ ]) "lists.init: list must not be empty!";
    lib.take (length list - 1) list;

  # `range 2 4` is `[ 2 3 4 ]`; empty when `last < first`.
  range = first: last: if first > last then [ ] else genList (n: first + n) (last - first + 1);

  imap0 = f: list: genList (n: f n (elemAt list n)) (length list);

  imap1 = f: list: genList (n: f (n + 1) (elemAt list n)) (length list);

  take = count: lib.sublist 0 count;

  drop = count: list: lib.sublist count (length list) list;

  sublist = start: count: list:
    let
      len = length list;
      from = if start >= len then len else start;
      n = if from + count > len then len - from else count;
    in
    genList (i: elemAt list (from + i)) (if n < 0 then 0 else n);

  count = pred: foldl' (c: x: if pred x then c + 1 else c) 0;

  reverseList = list: let l = length list; in genList (n: elemAt list (l - n - 1)) l;

  findFirst = pred: default: list:
    let found = filter pred list; in if found == [ ] then default else head found;

  remove = e: filter (x: x != e);

  subtractLists = e: filter (x: !(builtins.elem x e));

  intersectLists = e: filter (x: builtins.elem x e);

  zipListsWith = f: fst: snd:
    genList (n: f (elemAt fst n) (elemAt snd n)) (lib.min (length fst) (length snd));

  partition = pred: list: {
    right = filter pred list;
    wrong = filter (x: !(pred x)) list;
  };

  # Sort by a key computed once per element; stable, like `sort`.
  sortOn = f: list:
    map (p: p.v) (builtins.sort (a: b: a.k < b.k) (map (v: { k = f v; inherit v; }) list));

  replicate = n: x: genList (_: x) n;

  ifEnable = cond: val: if cond then val else if builtins.isList val then [ ] else "";
}
