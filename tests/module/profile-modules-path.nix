# A profile outside the tree imports installer profiles through `modulesPath`, as NixOS configurations do,
# and its `system.build` is free-form.
let
  config = (import ./support/eval-profile.nix ({ modulesPath, ... }: {
    imports = [ (modulesPath + "/installer/cd-dvd/installation-cd-minimal.nix") ];
    networking.hostName = "lab";
    system.build.note = "built by a test";
  })).config;
in
{ inherit (config.networking) hostName; inherit (config.system.build) note; }
