{ lib, ... }: {
  options.shallow = lib.mkOption { type = lib.types.attrs; };
}
