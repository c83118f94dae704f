# A `<name>` found nowhere on the search path is an error `tryEval` catches, as nix 2.8's is, even
# with `throw` shadowed; `<nix/…>` names nix's built-in corepkgs; a `__nixPath` in scope is the
# search path `<…>` reads.
let
  throw = x: x;
  __nixPath = [ { prefix = "here"; path = ./lib; } ];
in
{
  missing = builtins.tryEval <nonexistent-kiln-entry>;
  missingImport = builtins.tryEval (import <nonexistent-kiln-entry/x.nix>);
  corepkgs = <nix/fetchurl.nix>;
  fetchurlArgs = builtins.functionArgs (import <nix/fetchurl.nix>);
  corepkgsOnDisk = builtins.pathExists <nix/fetchurl.nix>;
  shadowed = <here>;
}
