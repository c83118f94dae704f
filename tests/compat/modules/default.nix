# What `modules.sh` evaluates: the modules given, with kiln's lib (a real directory, so nix 2.8
# and kiln read the same files).
{ lib ? import ../../../crates/kiln-module/lib, modules ? [ ] }:
{
  inherit (lib.evalModules { inherit modules; specialArgs.modulesPath = ./.; }) config options;
}
