# Function modules receive `config`, `options`, `lib`, `specialArgs` and every special argument
# (`modulesPath` here), and anything in `_module.args` (`pkgs` here) by name.
let
  lib = import ../../crates/kiln-module/lib;
  inherit (lib) mkOption types;
in
(lib.evalModules {
  specialArgs = { modulesPath = "/profiles"; flavour = "special"; };
  modules = [
    { options.seen = mkOption { type = types.attrsOf types.str; default = { }; }; options.echo = mkOption { type = types.str; }; }
    { _module.args.pkgs = { hello = "hello-2.12"; }; }
    ({ config, options, lib, pkgs, modulesPath, specialArgs, flavour, ... }: {
      seen = {
        pkgs = pkgs.hello;
        inherit modulesPath flavour;
        specialArgNames = toString (builtins.attrNames specialArgs);
        libHasEvalModules = lib.boolToString (lib ? evalModules);
        optionType = options.seen.type.description;
      };
    })
    ({ config, ... }: { echo = config.seen.pkgs + "!"; })
    ({ withDefault ? "its default", ... }: { seen.withDefault = withDefault; })
  ];
}).config
