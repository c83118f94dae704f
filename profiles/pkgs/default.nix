# The package set profiles see as `pkgs`: Debian bookworm's packages by their Debian names
# (`debian`, provided by kiln's driver), plus what kiln composes from them. A name the given set
# has itself wins (a test's stand-in kernel set, say).
{ debian, lib }:
let
  pkgs = {
    # Bookworm's default kernel with its headers and the out-of-tree modules built for it.
    linuxPackages = import ./linux-packages.nix { inherit pkgs lib; };

    # The dependency closure of a list of Debian packages (over `Depends`/`Pre-Depends`, as pinned
    # in kiln.lock), each package once, in the order `builtins.genericClosure` finds them.
    closureOf = packages:
      map (item: item.package) (builtins.genericClosure {
        startSet = map (p: { key = p.pname; package = p; }) packages;
        operator = item: map (name: { key = name; package = pkgs.${name}; }) item.package.depends;
      });
  } // debian;
in
pkgs
