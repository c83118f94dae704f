# `apply` post-processes the merged value; a default may read other options; `mkEnableOption` and
# `mkPackageOption` declare the usual shapes.
let
  lib = import ../../crates/kiln-module/lib;
  inherit (lib) mkOption types;
  pkgs = { busybox-static = { type = "derivation"; name = "busybox-static"; outPath = "/kiln/store/00000000000000000000000000000000-busybox-static"; }; };
  result = lib.evalModules {
    modules = [
      ({ config, ... }: {
        options.modules = mkOption { type = types.listOf types.str; apply = lib.unique; };
        options.count = mkOption { type = types.int; default = builtins.length config.modules; };
        options.enable = lib.mkEnableOption "the thing";
        options.shell = lib.mkPackageOption pkgs "busybox" { default = [ "busybox-static" ]; };
      })
      { modules = [ "a" "b" ]; }
      { modules = [ "b" "c" "a" ]; }
    ];
  };
in
{
  inherit (result.config) modules count enable;
  shell = result.config.shell.name;
  enableDescription = result.options.enable.description;
  shellDescription = result.options.shell.description;
  shellDefaultText = result.options.shell.defaultText.text;
}
