{ lib, ... }: {
  options.script = lib.mkOption { type = lib.types.lines; default = ""; };
}
