# `lib.optionsList` flattens an option tree for `kiln options`: every option sorted by name with its type,
# default (or `defaultText`) and description, submodule options under `<name>`, `_module` left out.
let
  lib = import ../../crates/kiln-module/lib;
  inherit (lib) mkOption types;
  options = (lib.evalModules {
    modules = [
      { _file = "decl.nix"; }
      {
        _file = "decl.nix";
        options.b.enable = lib.mkEnableOption "b";
        options.a = mkOption { type = types.str; default = "x"; description = "The a."; };
        options.fs = mkOption {
          type = types.attrsOf (types.submodule ({ name, ... }: { options.mountPoint = mkOption { type = types.str; default = name; }; }));
          default = { };
          internal = true;
        };
        options.k = mkOption { type = types.raw; default = throw "no"; };
        options.p = mkOption { type = types.raw; default = null; defaultText = lib.literalExpression "pkgs.linuxPackages"; };
      }
    ];
  }).options;
in
lib.optionsList options
