# What `options.X` tells about an option: its declaration (type, description, default, declaring files)
# and its definitions after priority filtering and ordering (value, files, definitions, highestPrio).
let
  lib = import ../../crates/kiln-module/lib;
  inherit (lib) mkOption types;
  options = (lib.evalModules {
    modules = [
      ./support/declare-modules.nix
      ./support/define-modules.nix
      { boot.kernelModules = lib.mkDefault [ "loses" ]; }
    ];
  }).options;
  show = o: {
    inherit (o) value highestPrio isDefined definitions description loc;
    default = o.default or "<none>";
    type = o.type.description;
    files = map baseNameOf o.files;
    declarations = map baseNameOf o.declarations;
    definitionsWithLocations = map (d: { file = baseNameOf d.file; inherit (d) value; }) o.definitionsWithLocations;
    printed = "${o}";
  };
in
{
  kernelModules = show options.boot.kernelModules;
  hostName = show options.networking.hostName;
}
