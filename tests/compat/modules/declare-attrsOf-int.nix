{ lib, ... }: {
  options.counts = lib.mkOption { type = lib.types.attrsOf lib.types.int; default = { }; };
}
