# Declares `system.build`, a free-form set where modules publish what they build
# (`system.build.isoImage`), and `system.sourceDateEpoch`, the time their files carry.
{ lib, ... }:
{
  options.system.sourceDateEpoch = lib.mkOption {
    type = lib.types.ints.u32;
    # nixpkgs' stdenv sets the same: 1980-01-01, the earliest time FAT and ZIP can record.
    default = 315532800;
    description = ''
      The time, in seconds since 1970, that every file of the image carries (initrd, live root,
      ISO and its EFI partition): `SOURCE_DATE_EPOCH` for kiln's builders. A fixed value, part
      of each step's key, so the image's bytes do not depend on when or where it is built.
    '';
  };

  options.system.build = lib.mkOption {
    type = lib.types.submodule {
      freeformType = lib.types.lazyAttrsOf lib.types.unspecified;
    };
    default = { };
    internal = true;
    description = "Artifacts built from the configuration, by name.";
  };
}
