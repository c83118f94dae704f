{ lib, ... }: { _module.args.custom = 5; }
