# Where definitions come from: a module file is named by its path, an anonymous module at the top by the
# file it is written in (via `unsafeGetAttrPos`), and each definition carries its line when known, also
# below `mkIf`; `definitionsWithPriorities` keeps the losing and switched-off (`mkIf false`) definitions
# too, with whether each `won`, for `kiln explain`.
let
  lib = import ../../crates/kiln-module/lib;
  options = (lib.evalModules {
    modules = [
      ./support/declare-modules.nix
      ./support/define-modules.nix
      { boot.kernelModules = lib.mkForce [ "forced" ]; }
      { boot.kernelModules = lib.mkIf false [ "switched-off" ]; }
      ({ config, ... }: {
        config = lib.mkIf true {
          boot.kernelModules = lib.mkAfter [ "after" ];
        };
      })
    ];
  }).options;
  show = d: removeAttrs d [ "file" ] // { file = baseNameOf d.file; };
in
{
  winners = map show options.boot.kernelModules.definitionsWithLocations;
  all = map show options.boot.kernelModules.definitionsWithPriorities;
}
