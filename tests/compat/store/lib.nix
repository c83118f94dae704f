# Helpers for store.sh: what nix and kiln must agree on about store paths, whose directories and
# hashes differ (`/nix/store/<nix hash>-x` against `<kiln store>/<kiln hash>-x`).
rec {
  # The part of a store path after `<store>/<32 characters>-`.
  name = p: builtins.substring (builtins.stringLength builtins.storeDir + 34) 1000 (builtins.unsafeDiscardStringContext p);

  # Whether `p` is `<store>/<32 base-32 characters>-<name>`.
  isStorePath = p:
    let s = builtins.unsafeDiscardStringContext p; in
    dirOf s == builtins.storeDir && builtins.match "[0-9a-df-np-sv-z]{32}-.+" (baseNameOf s) != null;

  # A string's context with its store paths replaced by their names (`at`), sorted by them.
  context = s:
    let c = builtins.getContext s; in
    builtins.sort (a: b: a.at < b.at) (map (k: c.${k} // { at = name k; }) (builtins.attrNames c));

  # A derivation that kiln's native builders accept too (`package-tree` needs no attribute).
  drv = attrs: derivation ({ name = "foo"; builder = "package-tree"; system = "x86_64-linux"; } // attrs);
}
