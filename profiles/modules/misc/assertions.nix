# Declares `assertions` and `warnings`, as NixOS does: modules state conditions on the configuration, and
# the driver fails (with every failed message) or prints the warnings before building anything.
{ lib, ... }:
{
  options.assertions = lib.mkOption {
    type = lib.types.listOf lib.types.unspecified;
    internal = true;
    default = [ ];
    example = [ { assertion = false; message = "you can't enable this for that reason"; } ];
    description = "Conditions (`{ assertion; message; }`) that must hold for the configuration to build.";
  };

  options.warnings = lib.mkOption {
    type = lib.types.listOf lib.types.str;
    internal = true;
    default = [ ];
    description = "Messages shown when the configuration is built.";
  };
}
