# Declares `networking.hostName`.
{ lib, ... }:
{
  options.networking.hostName = lib.mkOption {
    type = lib.types.strMatching "|[[:alnum:]]([[:alnum:]_-]{0,61}[[:alnum:]])?";
    default = "kiln";
    description = "The host name; empty leaves it to DHCP.";
  };
}
