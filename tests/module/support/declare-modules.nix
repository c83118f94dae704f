# A module file that declares two options, for test cases that look at `options.X.declarations`.
{ lib, ... }:
{
  options.boot.kernelModules = lib.mkOption {
    type = lib.types.listOf lib.types.str;
    default = [ "loop" ];
    description = "Modules to load.";
  };
  options.networking.hostName = lib.mkOption {
    type = lib.types.str;
    default = "kiln";
    description = "The host name.";
  };
}
