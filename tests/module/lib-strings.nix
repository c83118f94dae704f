# The string helpers of `lib`, with the results nixpkgs' functions of the same names give.
let
  lib = import ../../crates/kiln-module/lib;
in
{
  concatStringsSep = lib.concatStringsSep ", " [ "a" "b" "c" ];
  concatMapStringsSep = lib.concatMapStringsSep "-" toString [ 1 2 ];
  concatStrings = lib.concatStrings [ "a" "b" ];
  concatMapStrings = lib.concatMapStrings (x: x + ";") [ "a" "b" ];
  optionalString = [ (lib.optionalString true "yes") (lib.optionalString false "yes") ];
  toUpper = lib.toUpper "kiln-iso_1";
  toLower = lib.toLower "KILN-ISO_1";
  hasPrefix = [ (lib.hasPrefix "kvm-" "kvm-intel") (lib.hasPrefix "kvm-" "wl") ];
  hasSuffix = [ (lib.hasSuffix ".nix" "a.nix") (lib.hasSuffix ".nix" "nix") ];
  hasInfix = [ (lib.hasInfix "." "a.b") (lib.hasInfix "." "ab") ];
  removePrefix = [ (lib.removePrefix "/dev/" "/dev/sda") (lib.removePrefix "/dev/" "sda") ];
  removeSuffix = lib.removeSuffix ".iso" "kiln.iso";
  splitString = [ (lib.splitString "." "a.b..c") (lib.splitString ", " "x, y") (lib.splitString "." "") ];
  versionAtLeast = [ (lib.versionAtLeast "6.1.0" "6.1") (lib.versionAtLeast "5.10" "6.1") (lib.versionAtLeast "2.8" "2.8") ];
  versionOlder = [ (lib.versionOlder "5.10" "6.1") (lib.versionOlder "6.1" "5.10") ];
  stringToCharacters = lib.stringToCharacters "abc";
  escapeNixString = lib.escapeNixString "say \"\${hi}\"\n";
  escape = lib.escape [ "$" ] "a$b";
  fixedWidthNumber = lib.fixedWidthNumber 4 42;
  intersperse = lib.intersperse "," [ "a" "b" "c" ];
  levenshtein = [ (lib.levenshtein "kernelModule" "kernelModules") (lib.levenshtein "" "abc") (lib.levenshtein "kitten" "sitting") ];
  escapeShellArg = lib.escapeShellArg "it's";
  escapeShellArgs = lib.escapeShellArgs [ "a b" "c" ];
  makeBinPath = lib.makeBinPath [ "/x" null "/y" ];
  isStorePath = [ (lib.isStorePath "/nix/store/00000000000000000000000000000000-a") (lib.isStorePath "/etc/a") ];
}
