{ lib, ... }: {
  options.value = lib.mkOption { type = lib.types.enum [ "xz" "zstd" ]; default = "xz"; };
}
