# `iso-image.nix` sets what the medium needs with `mkImageMediaOverride` (60): a plain assignment in the
# user's profile loses to it, `mkForce` (50) wins over it.
let
  lib = import ../../crates/kiln-module/lib;
  eval = profile: (import ./support/eval-profile.nix {
    imports = [ ../../profiles/installer/cd-dvd/installation-cd-minimal.nix profile ];
  });
  plain = eval {
    fileSystems."/".fsType = "ext4";
    boot.loader.timeout = 1;
  };
  forced = eval {
    fileSystems."/".fsType = lib.mkForce "ext4";
    boot.loader.timeout = lib.mkForce 1;
  };
in
{
  plain = { root = plain.config.fileSystems."/".fsType; inherit (plain.config.boot) loader; };
  forced = { root = forced.config.fileSystems."/".fsType; inherit (forced.config.boot) loader; };
  plainTimeoutPrio = plain.options.boot.loader.timeout.highestPrio;
  forcedTimeoutPrio = forced.options.boot.loader.timeout.highestPrio;
}
