{ lib, ... }: { enable = lib.mkOverride 10 false; }
