# String helpers (`concatStringsSep`, `hasPrefix`, `splitString`, `toUpper`, `versionAtLeast`, ...).
{ lib }:
let
  inherit (builtins) stringLength substring concatStringsSep replaceStrings filter isString;
  lowerChars = lib.stringToCharacters "abcdefghijklmnopqrstuvwxyz";
  upperChars = lib.stringToCharacters "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
in
{
  inherit (builtins) stringLength substring concatStringsSep replaceStrings toString match split;

  concatStrings = concatStringsSep "";

  concatMapStrings = f: list: concatStringsSep "" (map f list);

  concatMapStringsSep = sep: f: list: concatStringsSep sep (map f list);

  concatImapStringsSep = sep: f: list: concatStringsSep sep (lib.imap1 f list);

  concatLines = list: concatStringsSep "" (map (s: s + "\n") list);

  optionalString = cond: string: if cond then string else "";

  hasPrefix = pref: str: substring 0 (stringLength pref) str == pref;

  hasSuffix = suffix: content:
    let
      lenContent = stringLength content;
      lenSuffix = stringLength suffix;
    in
    lenContent >= lenSuffix && substring (lenContent - lenSuffix) lenContent content == suffix;

  hasInfix = infix: content: builtins.length (builtins.split (lib.escapeRegex infix) content) > 1;

  removePrefix = prefix: str:
    let preLen = stringLength prefix; in
    if substring 0 preLen str == prefix then substring preLen (stringLength str - preLen) str else str;

  removeSuffix = suffix: str:
    let
      sufLen = stringLength suffix;
      sLen = stringLength str;
    in
    if sufLen <= sLen && suffix == substring (sLen - sufLen) sufLen str then substring 0 (sLen - sufLen) str else str;

  stringToCharacters = s: builtins.genList (p: substring p 1 s) (stringLength s);

  toUpper = replaceStrings lowerChars upperChars;

  toLower = replaceStrings upperChars lowerChars;

  # Split on a literal separator: `splitString "." "a.b"` is `[ "a" "b" ]`.
  splitString = sep: s: filter isString (builtins.split (lib.escapeRegex sep) (toString s));

  # Backslash-escape the given characters.
  escape = list: replaceStrings list (map (c: "\\${c}") list);

  escapeRegex = lib.escape (lib.stringToCharacters "\\[{()^$?*+|.");

  # A Nix string literal for `s`: `escapeNixString "a\"b"` is `"\"a\\\"b\""`.
  escapeNixString = s: "\"" + replaceStrings [ "\\" "\"" "\n" "\r" "\t" "\${" ] [ "\\\\" "\\\"" "\\n" "\\r" "\\t" "\\\${" ] s + "\"";

  # Is `x` usable where a string is expected (string, path, or set with `outPath`/`__toString`)?
  isStringLike = x: isString x || builtins.isPath x || x ? outPath || x ? __toString;

  isCoercibleToString = x:
    builtins.elem (builtins.typeOf x) [ "path" "string" "null" "int" "float" "bool" ]
    || (builtins.isList x && builtins.all lib.isCoercibleToString x)
    || x ? outPath || x ? __toString;

  # A store path is a string (or derivation) below `/nix/store` or kiln's store, with a name.
  isStorePath = x: lib.isStringLike x && builtins.match ".*/[0-9a-z]{32}-[^/]+" (toString x) != null;

  fixedWidthString = width: filler: str:
    let strw = stringLength str; in
    if strw >= width then str else lib.fixedWidthString width filler (filler + str);

  fixedWidthNumber = width: n: lib.fixedWidthString width "0" (toString n);

  intersperse = separator: list:
    if list == [ ] || builtins.length list == 1 then list
    else builtins.tail (builtins.concatMap (x: [ separator x ]) list);

  # Quote for a POSIX shell: `escapeShellArg "it's"` is `'it'\''s'`.
  escapeShellArg = arg: "'${replaceStrings [ "'" ] [ "'\\''" ] (toString arg)}'";

  escapeShellArgs = list: concatStringsSep " " (map lib.escapeShellArg list);

  # `makeSearchPath "bin" [ a b ]` is "A/bin:B/bin" (empty entries dropped).
  makeSearchPath = subDir: paths: concatStringsSep ":" (map (p: "${toString p}/${subDir}") (filter (p: p != null) paths));

  makeBinPath = lib.makeSearchPath "bin";

  # Documentation markers of NixOS modules; kiln keeps the text as it is.
  mdDoc = text: text;

  versionOlder = v1: v2: builtins.compareVersions v2 v1 == 1;

  versionAtLeast = v1: v2: !(lib.versionOlder v1 v2);

  # The edit distance between two strings, for "did you mean" suggestions.
  # Dynamic programming over rows, so it stays quadratic and needs only `genList` and `foldl'`.
  levenshtein = a: b:
    let
      as = lib.stringToCharacters a;
      bs = lib.stringToCharacters b;
      lb = builtins.length bs;
      firstRow = builtins.genList (j: j) (lb + 1);
      step = prev: ai:
        builtins.foldl'
          (row: j:
            let
              del = builtins.elemAt prev j + 1;
              ins = lib.last row + 1;
              sub = builtins.elemAt prev (j - 1) + (if builtins.elemAt bs (j - 1) == ai then 0 else 1);
            in
            row ++ [ (lib.min del (lib.min ins sub)) ])
          [ (builtins.head prev + 1) ]
          (lib.range 1 lb);
    in
    lib.last (builtins.foldl' step firstRow as);
}
