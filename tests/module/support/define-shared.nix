# A module file that test cases import several times, to show it is collected once.
{ lib, ... }:
{
  l = [ "shared" ];
}
