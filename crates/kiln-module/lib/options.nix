# Option declarations (`mkOption`, `mkEnableOption`, `mkPackageOption`) and the shared pieces of option
# merging and error reporting: `showOption`, `showDefs` (a value with its file, as in nixpkgs' messages) and
# the generic merge functions that single-valued types use.
{ lib }:
let
  inherit (builtins) isAttrs isList isString isFunction length head tail filter all concatStringsSep;
in
{
  # An option declaration is a set tagged `_type = "option"`; `evalModules` adds the merged results to it.
  mkOption =
    { default ? null
    , defaultText ? null
    , example ? null
    , description ? null
    , relatedPackages ? null
    , type ? null
    , apply ? null
    , internal ? null
    , visible ? null
    , readOnly ? null
    } @ attrs:
    attrs // { _type = "option"; };

  isOption = x: isAttrs x && x ? _type && x._type == "option";

  mkEnableOption = name: lib.mkOption {
    default = false;
    example = true;
    description = "Whether to enable ${name}.";
    type = lib.types.bool;
  };

  # `mkPackageOption pkgs "busybox" { default = [ "busybox-static" ]; }` declares a package option whose
  # default is `pkgs.busybox-static`; the default path is looked up lazily.
  mkPackageOption = pkgs: name: { default ? [ name ], example ? null }:
    let
      path = lib.toList default;
      text = "pkgs." + concatStringsSep "." path;
    in
    lib.mkOption ({
      type = lib.types.package;
      description = "The ${name} package to use.";
      default = lib.attrByPath path (throw "${text} cannot be found in pkgs") pkgs;
      defaultText = lib.literalExpression text;
    } // lib.optionalAttrs (example != null) { example = lib.literalExpression "pkgs.${example}"; });

  literalExpression = text: { _type = "literalExpression"; inherit text; };

  literalMD = text: { _type = "literalMD"; inherit text; };

  # `showOption [ "boot" "kernelModules" ]` is "boot.kernelModules"; odd names are quoted.
  showOption = parts:
    concatStringsSep "." (map (p: if builtins.match "[A-Za-z0-9_'<>*-]+|\\[.*]" p != null then p else lib.escapeNixString p) parts);

  showFiles = files: concatStringsSep " and " (map (f: "`${toString f}'") files);

  # Each definition as "\n- In `FILE': VALUE" (`FILE:LINE` when the line is known), the value
  # pretty-printed (at most 5 lines), or left out when printing it fails.
  showDefs = defs: lib.concatMapStrings
    (def:
      let
        pretty = builtins.tryEval (lib.showValue def.value);
        lines = filter isString (builtins.split "\n" pretty.value);
        shown = concatStringsSep "\n    " (lib.take 5 lines ++ lib.optional (length lines > 5) "...");
        result =
          if !pretty.success then ""
          else if length lines > 1 then ":\n    " + shown
          else ": " + shown;
      in
      "\n- In `${toString def.file}${if def ? line then ":${toString def.line}" else ""}'${result}")
    defs;

  # Pretty-print a value as Nix source, multi-line like nixpkgs' `generators.toPretty { }`.
  showValue = value:
    let
      identifier = name:
        if builtins.match "[a-zA-Z_][a-zA-Z0-9_'-]*" name != null
          && !(builtins.elem name [ "assert" "else" "if" "in" "inherit" "let" "or" "rec" "then" "with" ])
        then name else lib.escapeNixString name;
      showString = indent: s:
        let
          lines = filter isString (builtins.split "\n" s);
          single = "\"" + concatStringsSep "\\n" (map (lib.escape [ "\\" "\"" "\${" ]) lines) + "\"";
          escaped = map (builtins.replaceStrings [ "\${" "''" ] [ "''\${" "'''" ]) lines;
          lastLine = lib.last escaped;
          intro = "\n${indent}  ";
        in
        if length lines > 1 then
          "''" + intro + concatStringsSep intro (lib.init escaped)
          + (if lastLine == "" then "\n${indent}" else intro + lastLine) + "''"
        else single;
      go = indent: v:
        let inner = indent + "  "; in
        if isString v then showString indent v
        else if builtins.isInt v || builtins.isFloat v then toString v
        else if builtins.isBool v then lib.boolToString v
        else if v == null then "null"
        else if builtins.isPath v then toString v
        else if isList v then
          if v == [ ] then "[ ]"
          else "[" + lib.concatMapStrings (x: "\n${inner}" + go inner x) v + "\n${indent}]"
        else if isFunction v then
          let args = builtins.functionArgs v; in
          if args == { } then "<function>"
          else "<function, args: {" + concatStringsSep ", " (lib.mapAttrsToList (n: d: if d then n + "?" else n) args) + "}>"
        else if lib.isDerivation v then "<derivation ${v.name or "???"}>"
        else if v ? _type && v._type == "option-type" then "<type ${v.description}>"
        else if v == { } then "{ }"
        else "{" + lib.concatMapStrings (n: "\n${inner}${identifier n} = ${go inner v.${n}};") (builtins.attrNames v) + "\n${indent}}";
    in
    go "" value;

  # Every option of an option tree (`(evalModules { ... }).options`), sorted by name, with what
  # `kiln options` shows; sub-options of submodules follow their option, under `<name>` or `*`.
  # The default is the declaration's `defaultText` if it has one, else the printed default value (or
  # "<error>" when evaluating it throws).
  optionsList = options:
    let
      walk = tree: lib.concatMap
        (n:
          let v = tree.${n}; in
          if n == "_module" then [ ]
          else if lib.isOption v then [ (describe v) ] ++ walk (v.type.getSubOptions v.loc)
          else walk v)
        (builtins.attrNames tree);
      showDefault = opt:
        if opt ? defaultText then
          (if isAttrs opt.defaultText && opt.defaultText ? text then opt.defaultText.text else lib.showValue opt.defaultText)
        else
          let shown = builtins.tryEval (lib.showValue opt.default); in
          if shown.success then shown.value else "<error>";
      describe = opt: {
        name = lib.showOption opt.loc;
        inherit (opt) loc declarations;
        type = opt.type.description;
        description = opt.description or null;
        internal = opt.internal or false == true;
        readOnly = opt.readOnly or false == true;
      } // lib.optionalAttrs (opt ? default || opt ? defaultText) { default = showDefault opt; };
    in
    walk options;

  getValues = map (d: d.value);

  getFiles = map (d: d.file);

  # Several definitions are fine only if they are all equal; otherwise every definition is listed.
  mergeEqualOption = loc: defs:
    let first = head defs; in
    if defs == [ ] then abort "mergeEqualOption: no definitions for `${lib.showOption loc}'"
    else if all (d: d.value == first.value) (tail defs) then first.value
    else throw "The option `${lib.showOption loc}' has conflicting definition values:${lib.showDefs defs}";

  # Exactly one definition allowed.
  mergeOneOption = loc: defs:
    if defs == [ ] then abort "mergeOneOption: no definitions for `${lib.showOption loc}'"
    else if length defs == 1 then (head defs).value
    else throw "The unique option `${lib.showOption loc}' is defined multiple times. Definition values:${lib.showDefs defs}";

  # The merge of `types.unspecified`: concatenate lists, update sets, `||` booleans, concatenate strings.
  mergeDefaultOption = loc: defs:
    let list = lib.getValues defs; in
    if length list == 1 then head list
    else if all isFunction list then x: lib.mergeDefaultOption loc (map (d: d // { value = d.value x; }) defs)
    else if all isList list then lib.concatLists list
    else if all isAttrs list then builtins.foldl' (a: b: a // b) { } list
    else if all builtins.isBool list then builtins.foldl' (a: b: a || b) false list
    else if all isString list then lib.concatStrings list
    else if all builtins.isInt list && all (x: x == head list) list then head list
    else throw "Cannot merge definitions of `${lib.showOption loc}'. Definition values:${lib.showDefs defs}";
}
