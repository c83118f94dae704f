{ lib, ... }: { list = lib.mkAfter [ 9 ]; }
