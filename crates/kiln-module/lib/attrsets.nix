# Attribute-set helpers (`mapAttrs`, `filterAttrs`, `attrByPath`, `recursiveUpdate`, ...).
{ lib }:
let
  inherit (builtins) attrNames listToAttrs isAttrs length head tail foldl' hasAttr;
in
{
  inherit (builtins) attrNames attrValues mapAttrs listToAttrs removeAttrs catAttrs intersectAttrs hasAttr getAttr;

  optionalAttrs = cond: as: if cond then as else { };

  nameValuePair = name: value: { inherit name value; };

  mapAttrsToList = f: attrs: map (name: f name attrs.${name}) (attrNames attrs);

  mapAttrs' = f: set: listToAttrs (map (attr: f attr set.${attr}) (attrNames set));

  filterAttrs = pred: set:
    listToAttrs (lib.concatMap (name: let v = set.${name}; in if pred name v then [ { inherit name; value = v; } ] else [ ]) (attrNames set));

  genAttrs = names: f: listToAttrs (map (n: { name = n; value = f n; }) names);

  attrVals = nameList: set: map (x: set.${x}) nameList;

  # `attrByPath [ "a" "b" ] d s` is `s.a.b`, or `d` when any step is missing.
  attrByPath = attrPath: default: e:
    if attrPath == [ ] then e
    else if isAttrs e && hasAttr (head attrPath) e then lib.attrByPath (tail attrPath) default e.${head attrPath}
    else default;

  hasAttrByPath = attrPath: e:
    attrPath == [ ] || (isAttrs e && hasAttr (head attrPath) e && lib.hasAttrByPath (tail attrPath) e.${head attrPath});

  getAttrFromPath = attrPath: set:
    lib.attrByPath attrPath (throw "cannot find attribute `${lib.concatStringsSep "." attrPath}'") set;

  # `setAttrByPath [ "a" "b" ] 1` is `{ a = { b = 1; }; }`.
  setAttrByPath = attrPath: value:
    if attrPath == [ ] then value else { ${head attrPath} = lib.setAttrByPath (tail attrPath) value; };

  # Merge the lists of values per name: `zipAttrsWith (n: vs: vs) [ { a = 1; } { a = 2; } ]` is `{ a = [ 1 2 ]; }`.
  # The builtin (nix >= 2.6, and kiln) is linear in the total number of attributes; the fallback, whose
  # names come from `//` so that no value is forced, is quadratic (names x sets), which `evalModules`
  # feels with thousands of definitions.  Either way values keep the order of `sets`.
  zipAttrsWith = builtins.zipAttrsWith or (f: sets:
    let names = attrNames (foldl' (acc: s: acc // s) { } sets); in
    listToAttrs (map (name: { inherit name; value = f name (builtins.catAttrs name sets); }) names));

  zipAttrs = lib.zipAttrsWith (_name: values: values);

  # Merge `rhs` into `lhs` recursively while `pred path l r` is false; on a leaf `rhs` wins.
  recursiveUpdateUntil = pred: lhs: rhs:
    let
      go = path: l: r:
        lib.zipAttrsWith
          (n: values:
            let here = path ++ [ n ]; in
            if length values == 1 then head values
            else if pred here (head values) (builtins.elemAt values 1) then builtins.elemAt values 1
            else go here (head values) (builtins.elemAt values 1))
          [ l r ];
    in
    go [ ] lhs rhs;

  recursiveUpdate = lib.recursiveUpdateUntil (_path: l: r: !(isAttrs l && isAttrs r));

  isDerivation = x: isAttrs x && x ? type && x.type == "derivation";

  mapAttrsRecursiveCond = cond: f: set:
    let
      recurse = path: s:
        builtins.mapAttrs
          (name: value:
            if isAttrs value && cond value then recurse (path ++ [ name ]) value else f (path ++ [ name ]) value)
          s;
    in
    recurse [ ] set;

  mapAttrsRecursive = lib.mapAttrsRecursiveCond (_: true);

  collect = pred: attrs:
    if pred attrs then [ attrs ]
    else if isAttrs attrs then lib.concatMap (lib.collect pred) (builtins.attrValues attrs)
    else [ ];

  foldAttrs = op: nul: list_of_attrs:
    foldl' (acc: set: acc // builtins.mapAttrs (name: v: op v (acc.${name} or nul)) set) { } (lib.reverseList list_of_attrs);

  attrsToList = set: lib.mapAttrsToList lib.nameValuePair set;
}
