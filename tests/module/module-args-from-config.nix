# `_module.args` is an ordinary option: one module defines an argument (even from `config`), another
# module asks for it by name.
let
  lib = import ../../crates/kiln-module/lib;
  inherit (lib) mkOption types;
in
(lib.evalModules {
  modules = [
    { options.greeting = mkOption { type = types.str; }; options.target = mkOption { type = types.str; default = "world"; }; }
    ({ config, ... }: { _module.args.who = config.target; })
    ({ who, ... }: { greeting = "hello ${who}"; })
    { target = "kiln"; }
  ];
}).config.greeting
