# Every priority level against every other, in both module orders: the lower number wins, and equal
# priorities merge (a list option shows both).  The option's `default` is at 1500, like `mkOptionDefault`.
let
  lib = import ../../crates/kiln-module/lib;
  levels = {
    vm = lib.mkVMOverride [ "vm" ];
    force = lib.mkForce [ "force" ];
    image = lib.mkImageMediaOverride [ "image" ];
    plain = [ "plain" ];
    default = lib.mkDefault [ "default" ];
    optionDefault = lib.mkOptionDefault [ "optionDefault" ];
    override900 = lib.mkOverride 900 [ "override900" ];
  };
  eval = a: b: (lib.evalModules {
    modules = [
      { options.x = lib.mkOption { type = lib.types.listOf lib.types.str; default = [ "declared-default" ]; }; }
      { x = levels.${a}; }
      { x = levels.${b}; }
    ];
  }).config.x;
  names = builtins.attrNames levels;
in
builtins.listToAttrs (lib.concatMap (a: map (b: { name = "${a}-then-${b}"; value = eval a b; }) names) names)
