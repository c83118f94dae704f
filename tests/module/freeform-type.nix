# With `freeformType`, definitions that match no declared option are merged by that type instead of being
# errors; declared options keep their own types, and both appear in `config`.
let
  lib = import ../../crates/kiln-module/lib;
  inherit (lib) mkOption types;
  settings = types.submodule {
    freeformType = types.attrsOf (types.either types.int types.str);
    options.port = mkOption { type = types.port; default = 80; };
  };
  top = lib.evalModules {
    modules = [
      { freeformType = types.attrsOf types.anything; options.declared = mkOption { type = types.int; default = 1; }; }
      { free.nested.a = 1; free.list = [ "x" ]; declared = 2; }
      { free.nested.b = lib.mkIf true 2; free.nested.c = lib.mkIf false 3; }
    ];
  };
in
{
  top = top.config;
  sub = (lib.evalModules {
    modules = [
      { options.settings = mkOption { type = settings; default = { }; }; }
      { settings = { user = "kiln"; workers = 4; }; }
      { settings.port = 8080; }
    ];
  }).config.settings;
}
