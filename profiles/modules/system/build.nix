# Declares `system.build`: a free-form set where modules publish what they build (`system.build.isoImage`).
{ lib, ... }:
{
  options.system.build = lib.mkOption {
    type = lib.types.submodule {
      freeformType = lib.types.lazyAttrsOf lib.types.unspecified;
    };
    default = { };
    internal = true;
    description = "Artifacts built from the configuration, by name.";
  };
}
