# kiln's `lib`: the helper library that profiles receive as their `lib` argument.
# It is written in plain Nix (no nixpkgs on the build machine) so that nix-instantiate 2.8 can serve as an
# oracle for kiln's own evaluator; the kiln binary embeds this directory so `import <kiln/lib>` returns it.
# Each family of functions lives in its own file; every file is a function `{ lib }: { ... }` and this file
# ties them together with a fixpoint, so any function may use any other as `lib.<name>`.
let
  families = [
    ./trivial.nix
    ./lists.nix
    ./strings.nix
    ./attrsets.nix
    ./options.nix
    ./modules.nix
  ];

  lib = builtins.foldl' (acc: file: acc // import file { inherit lib; }) {
    # Sub-namespaces, as nixpkgs spells them (`lib.types.str`, `lib.lists.unique`, ...).
    types = import ./types.nix { inherit lib; };
    trivial = import ./trivial.nix { inherit lib; };
    lists = import ./lists.nix { inherit lib; };
    strings = import ./strings.nix { inherit lib; };
    attrsets = import ./attrsets.nix { inherit lib; };
    options = import ./options.nix { inherit lib; };
    modules = import ./modules.nix { inherit lib; };
    generators = { toPretty = _args: lib.showValue; };
    inherit builtins;
  } families;
in
lib
