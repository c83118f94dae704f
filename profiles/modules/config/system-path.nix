# Declares `environment.systemPackages`, the packages installed into the live system.
{ lib, ... }:
{
  options.environment.systemPackages = lib.mkOption {
    type = lib.types.listOf lib.types.package;
    default = [ ];
    example = lib.literalExpression "[ pkgs.busybox-static ]";
    description = "Debian packages installed into the system, with their `Depends`/`Pre-Depends` closure.";
  };
  options.environment.includeEssentialPackages = lib.mkOption {
    type = lib.types.bool;
    default = false;
    description = "Whether the live root also gets Debian's `Essential: yes` packages (coreutils, dpkg, bash, ...), as a Debian system installed by debootstrap has; without them it has busybox's commands where no package provides one.";
  };
}
