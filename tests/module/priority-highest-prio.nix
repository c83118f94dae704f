# `options.x.highestPrio` is the winning priority number (9999 when nothing defines the option) and
# `isDefined` says whether any definition survived.
let
  lib = import ../../crates/kiln-module/lib;
  prio = defs: default:
    let
      o = (lib.evalModules {
        modules = [ { options.x = lib.mkOption ({ type = lib.types.int; } // default); } ] ++ map (d: { x = d; }) defs;
      }).options.x;
    in
    { inherit (o) highestPrio isDefined; };
in
{
  nothing = prio [ ] { };
  declaredDefault = prio [ ] { default = 0; };
  plain = prio [ 1 ] { default = 0; };
  mkDefault = prio [ (lib.mkDefault 1) ] { default = 0; };
  mkForce = prio [ 1 (lib.mkForce 2) ] { };
  mkImageMediaOverride = prio [ 1 (lib.mkImageMediaOverride 2) ] { };
  mkVMOverride = prio [ (lib.mkForce 1) (lib.mkVMOverride 2) ] { };
  falseMkIf = prio [ (lib.mkIf false 1) ] { };
}
