# Declares `environment.systemPackages`, the packages installed into the live system.
{ lib, ... }:
{
  options.environment.systemPackages = lib.mkOption {
    type = lib.types.listOf lib.types.package;
    default = [ ];
    example = lib.literalExpression "[ pkgs.busybox-static ]";
    description = "Debian packages installed into the system, with their `Depends`/`Pre-Depends` closure.";
  };
}
