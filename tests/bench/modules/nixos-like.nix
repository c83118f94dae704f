# Benchmark input (issue 17): a synthetic NixOS-style module set of `n` options with 20 definitions each.
#
# Options are declared ten to a module under `bench.g<k>.o<i>` (like `services.<name>.*`) and defined by
# `n` function modules (`{ config, lib, ... }:`), each of which defines 20 options, so every option has one
# definition from each of 20 modules. The kinds rotate with the option's index:
#   0 listOf str     plain, mkIf, mkBefore, mkAfter, mkMerge, mkDefault (which loses)
#   1 int            mkOverride with a distinct priority per definition, one mkDefault, one mkForce
#   2 attrsOf int    one key per definition, some under mkIf
#   3 lines          plain and mkAfter
#   4 bool           equal definitions, one mkDefault false and one mkForce true
#   5 attrsOf (submodule { enable; port; groups; }), the shape of `users.users`: five names, each
#     defined by four modules
# `lib` is a parameter so that the same file runs with another library that has nixpkgs' API.
# Run: `kiln eval --strict nixos-like.nix --arg n 2000` or `nix-instantiate --eval --strict ... --arg n 2000`.
{ n ? 200, lib ? import ../../../crates/kiln-module/lib }:
let
  inherit (lib) mkOption types mkIf mkMerge mkDefault mkForce mkOverride mkBefore mkAfter;
  perModule = 10;
  nDefs = 20;
  kind = i: i - 6 * (i / 6);
  group = i: "g${toString (i / perModule)}";
  name = i: "o${toString i}";

  user = types.submodule ({ name, ... }: {
    options = {
      enable = mkOption { type = types.bool; default = true; };
      port = mkOption { type = types.int; default = 0; };
      groups = mkOption { type = types.listOf types.str; default = [ ]; };
      home = mkOption { type = types.str; default = "/home/${name}"; };
    };
  });
  typeOf = i: builtins.elemAt [
    (types.listOf types.str)
    types.int
    (types.attrsOf types.int)
    types.lines
    types.bool
    (types.attrsOf user)
  ] (kind i);
  defaultOf = i: builtins.elemAt [ [ ] 0 { } "" false { } ] (kind i);

  declare = k: {
    options.bench.${"g${toString k}"} = builtins.listToAttrs (builtins.genList
      (j:
        let i = k * perModule + j; in
        {
          name = name i;
          value = mkOption { type = typeOf i; default = defaultOf i; description = "option ${toString i}"; };
        })
      perModule);
  };

  # Definition `d` (0..19) of option `i`, written in module `m`.
  define = m: i: d:
    let
      tag = "m${toString m}-d${toString d}";
      k = kind i;
    in
    if k == 0 then
      builtins.elemAt [
        [ tag ]
        (mkIf (d != 7) [ tag ])
        (mkBefore [ tag ])
        (mkAfter [ tag ])
        (mkMerge [ [ tag ] (mkIf true [ "${tag}b" ]) ])
        (mkDefault [ tag ])
      ] (d - 6 * (d / 6))
    else if k == 1 then
      if d == 0 then mkDefault m else if d == nDefs - 1 then mkForce i else mkOverride (200 + d) d
    else if k == 2 then
      { ${"k${toString d}"} = m; } // (if d - 3 * (d / 3) == 0 then { extra = mkIf (d == 0) m; } else { })
    else if k == 3 then
      if d - 2 * (d / 2) == 0 then "line ${tag}" else mkAfter "after ${tag}"
    else if k == 4 then
      if d == 0 then mkDefault false else if d == 1 then mkForce true else true
    else
      {
        ${"u${toString (d - 5 * (d / 5))}"} = {
          groups = [ "g${toString d}" ];
        } // (if d < 5 then { port = mkDefault d; } else { })
          // (if d == 19 then { enable = mkForce false; } else { });
      };

  defineModule = m: { config, lib, ... }: {
    config = mkMerge (builtins.genList
      (d:
        let i = m + d * 7919 - n * ((m + d * 7919) / n); in
        { bench.${group i}.${name i} = define m i d; })
      nDefs);
  };

  result = lib.evalModules {
    modules = builtins.genList declare (n / perModule) ++ builtins.genList defineModule n;
  };
  config = result.config.bench;
in
builtins.deepSeq config (builtins.length (builtins.attrNames config))
