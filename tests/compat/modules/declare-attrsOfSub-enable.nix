{ lib, ... }: {
  options.attrsOfSub = lib.mkOption {
    default = { };
    type = lib.types.attrsOf (lib.types.submodule {
      options.enable = lib.mkOption { type = lib.types.bool; default = false; };
      options.label = lib.mkOption { type = lib.types.str; default = "none"; };
    });
  };
}
