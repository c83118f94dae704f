{ lib, ... }: { list = lib.mkBefore [ 0 ]; }
