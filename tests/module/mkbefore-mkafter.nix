# `mkOrder` sorts the winning definitions stably on top of module order: `mkBefore` (500) first,
# plain (1000), then `mkAfter` (1500); equal orders keep merge order (reverse module order).
# Priorities filter first: only the `mkForce` definitions of `f` are sorted.
let
  lib = import ../../crates/kiln-module/lib;
  inherit (lib) mkOption types mkBefore mkAfter mkOrder;
in
(lib.evalModules {
  modules = [
    { options.l = mkOption { type = types.listOf types.str; }; options.s = mkOption { type = types.lines; }; options.f = mkOption { type = types.listOf types.str; }; }
    { l = mkAfter [ "after-1" ]; s = mkAfter "after"; }
    { l = [ "plain-1" ]; s = "plain"; }
    { l = mkBefore [ "before-1" ]; }
    { l = mkAfter [ "after-2" ]; }
    { l = [ "plain-2" ]; s = mkBefore "before"; }
    { l = mkBefore [ "before-2" ]; }
    { l = mkOrder 750 [ "order-750" ]; }
    { f = lib.mkForce (mkAfter [ "forced-after" ]); }
    { f = lib.mkForce [ "forced-plain" ]; }
    { f = [ "plain-loses" ]; }
    { f = lib.mkForce (mkBefore [ "forced-before" ]); }
  ];
}).config
