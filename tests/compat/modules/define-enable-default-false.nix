{ lib, ... }: { enable = lib.mkDefault false; }
