# The entry point the kiln driver calls, like NixOS's `eval-config.nix`: evaluate a profile (a list of
# modules) together with the option declarations of `modules/module-list.nix`. The result is
# `evalModules`' (`config`, `options`, ...) plus the `lib` and `pkgs` the modules saw, as
# `<nixpkgs/nixos>` gives them: what `kiln repl PROFILE` brings into scope.
# `pkgs` is Debian's package set (each package a derivation, by its Debian name); `pkgs/default.nix` adds
# `linuxPackages` (`.kernel`, `.headers`, `.broadcom_sta`) and `closureOf`. Modules receive the result as
# their `pkgs` argument and may replace it through `_module.args`.
# `modulesPath` is this directory, so a profile can import `${modulesPath}/installer/cd-dvd/iso-image.nix`.
{ modules
, pkgs
, lib ? import ../crates/kiln-module/lib
, specialArgs ? { }
}:
let
  pkgs' = import ./pkgs { debian = pkgs; inherit lib; };
  result = lib.evalModules {
    modules = import ./modules/module-list.nix ++ [ { _file = toString ./eval-config.nix; _module.args.pkgs = lib.mkDefault pkgs'; } ] ++ modules;
    specialArgs = { modulesPath = ./.; } // specialArgs;
  };
in
result // { inherit lib; pkgs = result._module.args.pkgs; }
