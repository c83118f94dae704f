{ lib, ... }: { counts = { b = 2; c = lib.mkIf false 3; }; }
