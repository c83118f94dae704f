# A synthetic module set for timing the module library (issue 4's benchmark shape): 2000 options (lists of
# strings, ints, attrsOf ints) and 10000 definitions with mixed priorities, orders and `mkIf`.
# Not a test case: run `nix-instantiate --eval --strict tests/module/bench/synthetic.nix` (or through kiln).
let
  lib = import ../../../crates/kiln-module/lib;
  inherit (lib) mkOption types;
  nOptions = 2000;
  nDefs = 10000;
  name = i: "o${toString i}";
  # Option `i` is a list (kind 0), an int (kind 1) or an attrsOf int (kind 2).
  kind = i: lib.mod i 3;
  declare = {
    options.switch = mkOption { type = types.bool; default = true; };
    options.bench = builtins.listToAttrs (builtins.genList
      (i: {
        name = name i;
        value = mkOption {
          type = builtins.elemAt [ (types.listOf types.str) types.int (types.attrsOf types.int) ] (kind i);
          default = builtins.elemAt [ [ ] 0 { } ] (kind i);
        };
      })
      nOptions);
  };
  # Definition `j` goes to option `j mod nOptions`; its wrapper rotates with `j / nOptions`.
  define = j: { config, ... }:
    let
      i = lib.mod j nOptions;
      round = j / nOptions;
      value = builtins.elemAt [ [ "v${toString j}" ] j { "k${toString (lib.mod j 7)}" = j; } ] (kind i);
      # Lists take every wrapper; single values (ints) would conflict at equal priority, so each round of
      # them gets a distinct priority, the last round `mkForce`.
      wrapped =
        if kind i != 1 then
          builtins.elemAt [
            value
            (lib.mkIf config.switch value)
            (lib.mkOrder (500 + lib.mod j 1000) value)
            (lib.mkDefault value)
            (lib.mkForce value)
          ] (lib.mod round 5)
        else if round == 4 then lib.mkForce value
        else lib.mkOverride (200 + round) value;
    in
    { bench.${name i} = wrapped; };
  config = (lib.evalModules { modules = [ declare ] ++ builtins.genList define nDefs; }).config;
in
builtins.deepSeq config.bench (builtins.length (builtins.attrNames config.bench))
