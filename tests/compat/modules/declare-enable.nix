{ lib, ... }: {
  options.enable = lib.mkOption {
    type = lib.types.bool;
    default = false;
    description = "Whether to enable the thing.";
  };
}
