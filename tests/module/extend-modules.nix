# `extendModules` evaluates the same modules plus more, as nixpkgs' `extendModules` does.
let
  lib = import ../../crates/kiln-module/lib;
  base = lib.evalModules {
    modules = [
      { options.l = lib.mkOption { type = lib.types.listOf lib.types.str; }; }
      { l = [ "base" ]; }
    ];
  };
  extended = base.extendModules { modules = [ { l = [ "extra" ]; } ]; };
in
{ base = base.config.l; extended = extended.config.l; }
