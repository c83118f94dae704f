{ lib, ... }: {
  options.free = lib.mkOption { type = lib.types.anything; };
}
