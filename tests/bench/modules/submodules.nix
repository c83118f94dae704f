# Benchmark input (issue 17): `attrsOf (submodule ...)`, the shape of `users.users` and `systemd.services`:
# `modules` modules each define `entries` entries of one such option (six sub-options, defaults that read
# `name` and `config`), overlapping so that every entry has several definitions to merge.
# Run: `kiln eval --strict submodules.nix` or `nix-instantiate --eval --strict submodules.nix`.
{ modules ? 100, entries ? 60, lib ? import ../../../crates/kiln-module/lib }:
let
  inherit (lib) mkOption mkDefault mkForce mkIf types;
  service = types.submodule ({ name, config, ... }: {
    options = {
      enable = mkOption { type = types.bool; default = true; };
      description = mkOption { type = types.str; default = "service ${name}"; };
      after = mkOption { type = types.listOf types.str; default = [ ]; };
      environment = mkOption { type = types.attrsOf types.str; default = { }; };
      script = mkOption { type = types.lines; default = ""; };
      restart = mkOption { type = types.enum [ "no" "always" "on-failure" ]; default = "no"; };
    };
    config.environment.NAME = mkDefault name;
    config.after = mkIf config.enable [ "network.target" ];
  });
  declare = { options.services = mkOption { type = types.attrsOf service; default = { }; }; };
  # Module `m` defines entries `m .. m + entries - 1` (modulo the number of distinct entries), so each
  # entry gets definitions from several modules.
  distinct = entries * 4;
  define = m: { lib, ... }: {
    services = builtins.listToAttrs (builtins.genList
      (e:
        let k = m + e - distinct * ((m + e) / distinct); in
        {
          name = "svc${toString k}";
          value = {
            after = [ "m${toString m}.target" ];
            environment."M${toString m}" = toString e;
            script = "run ${toString m} ${toString e}";
          } // (if e == 0 then { restart = mkForce "always"; } else { })
            // (if m == 0 then { description = mkDefault "first"; } else { });
        })
      entries);
  };
  config = (lib.evalModules { modules = [ declare ] ++ builtins.genList define modules; }).config;
in
builtins.deepSeq config.services (builtins.length (builtins.attrNames config.services))
