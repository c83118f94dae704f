# Option types (`lib.types`): what a definition must look like (`check`) and how several definitions of one
# option become one value (`merge`).
# A type is a set tagged `_type = "option-type"` with `name`, `description`, `check` and `merge loc defs`,
# where `defs` is a list of `{ file; value; }` that already passed the priority filter and `mkOrder` sort.
# Semantics follow nixpkgs' `lib/types.nix` (2023-06 to 2024-06): the same checks and merges, the same
# `emptyValue`s (what `lazyAttrsOf` gives for an attribute whose definitions all vanish), and descriptions
# built the same way (`descriptionClass` and `optionDescriptionPhrase`: "list of (attribute set of string)").
# Container types merge their elements through `lib.mergeDefinitions`, so `mkIf`, `mkMerge` and priorities
# work inside lists and attribute sets exactly as they do at the top of an option.
{ lib }:
let
  inherit (builtins) isAttrs isList isString isInt isBool isFunction length head all filter concatLists;

  mkOptionType =
    { name
    , description ? name
    # What kind of phrase `description` is, for `optionDescriptionPhrase`: "noun", "conjunction"
    # ("int or string"), "composite" ("list of string"), "nonRestrictiveClause", or null.
    , descriptionClass ? null
    , check ? (_: true)
    , merge ? lib.mergeDefaultOption
    # `{ value = V; }` when the type has a value meaning "nothing", else `{ }`.
    , emptyValue ? { }
    , getSubOptions ? (_prefix: { })
    , nestedTypes ? { }
    , mergeWith ? null
    , extra ? { }
    }:
    let
      self = { _type = "option-type"; inherit name description descriptionClass check merge emptyValue getSubOptions nestedTypes; } // extra // {
        # The type that two declarations of one option with types `self` and `other` share, or null.
        # By default only the same type merges with itself; containers merge when their elements do.
        mergeWith =
          if mergeWith != null then mergeWith
          else other: if other.name or null == name && other.description or null == description then self else null;
      };
    in
    self;

  # `mergeWith` for a container `wrap elemType`: merge the element types.
  mergeElems = name: wrap: elemType: other:
    let merged = if other.name or null == name then elemType.mergeWith other.nestedTypes.elemType else null; in
    if merged == null then null else wrap merged;

  # A type's description inside another's: parenthesised unless its class fits (nixpkgs' function).
  optionDescriptionPhrase = unparenthesize: t:
    if unparenthesize (t.descriptionClass or null) then t.description else "(${t.description})";

  # The definition values that a container type collects, as defs for its element type.
  elemDef = def: value: { inherit (def) file; inherit value; };

  # Show an enum value the way nixpkgs does in a type description.
  showEnumValue = v:
    if isString v then "\"${v}\""
    else if isInt v then toString v
    else if isBool v then lib.boolToString v
    else "<${builtins.typeOf v}>";

  intBetween = lowest: highest: description: name:
    addCheck types.int (x: x >= lowest && x <= highest) // { inherit name description; descriptionClass = "noun"; };

  betweenDesc = lowest: highest: "${toString lowest} and ${toString highest} (both inclusive)";

  unsign = bit: range: intBetween 0 (range - 1)
    "${toString bit} bit unsigned integer; between ${betweenDesc 0 (range - 1)}" "unsignedInt${toString bit}";

  sign = bit: range: intBetween (0 - range / 2) (range / 2 - 1)
    "${toString bit} bit signed integer; between ${betweenDesc (0 - range / 2) (range / 2 - 1)}" "signedInt${toString bit}";

  addCheck = elemType: check: elemType // { check = x: elemType.check x && check x; };

  types = {
    inherit mkOptionType addCheck;

    isType = name: x: isAttrs x && x ? _type && x._type == "option-type" && x.name == name;

    raw = mkOptionType { name = "raw"; description = "raw value"; descriptionClass = "noun"; merge = lib.mergeOneOption; };

    unspecified = mkOptionType { name = "unspecified"; description = "unspecified value"; descriptionClass = "noun"; };

    bool = mkOptionType { name = "bool"; description = "boolean"; descriptionClass = "noun"; check = isBool; merge = lib.mergeEqualOption; };

    int = mkOptionType { name = "int"; description = "signed integer"; descriptionClass = "noun"; check = isInt; merge = lib.mergeEqualOption; };

    float = mkOptionType { name = "float"; description = "floating point number"; descriptionClass = "noun"; check = builtins.isFloat; merge = lib.mergeEqualOption; };

    ints = {
      between = lowest: highest: intBetween lowest highest "integer between ${betweenDesc lowest highest}" "intBetween";
      unsigned = addCheck types.int (x: x >= 0) // { name = "unsignedInt"; description = "unsigned integer, meaning >=0"; descriptionClass = "nonRestrictiveClause"; };
      positive = addCheck types.int (x: x > 0) // { name = "positiveInt"; description = "positive integer, meaning >0"; descriptionClass = "nonRestrictiveClause"; };
      u8 = unsign 8 256;
      u16 = unsign 16 65536;
      u32 = unsign 32 4294967296;
      s8 = sign 8 256;
      s16 = sign 16 65536;
      s32 = sign 32 4294967296;
    };

    port = types.ints.u16;

    str = mkOptionType { name = "str"; description = "string"; descriptionClass = "noun"; check = isString; merge = lib.mergeEqualOption; };

    nonEmptyStr = mkOptionType {
      name = "nonEmptyStr";
      description = "non-empty string";
      descriptionClass = "noun";
      check = x: isString x && builtins.match "[ \t\n]*" x == null;
      merge = lib.mergeEqualOption;
    };

    strMatching = pattern: mkOptionType {
      name = "strMatching ${builtins.toJSON pattern}";
      description = "string matching the pattern ${pattern}";
      descriptionClass = "noun";
      check = x: isString x && builtins.match pattern x != null;
      merge = lib.mergeEqualOption;
    };

    # Strings that merge by joining all definitions with `sep`, in definition order.
    separatedString = sep: mkOptionType {
      name = "separatedString";
      description = if sep == "" then "Concatenated string" else "strings concatenated with ${builtins.toJSON sep}";
      descriptionClass = "noun";
      check = isString;
      merge = _loc: defs: builtins.concatStringsSep sep (lib.getValues defs);
      emptyValue = { value = ""; };
    };

    lines = types.separatedString "\n";
    commas = types.separatedString ",";
    envVar = types.separatedString ":";

    path = mkOptionType {
      name = "path";
      descriptionClass = "noun";
      check = x: lib.isCoercibleToString x && builtins.substring 0 1 (toString x) == "/";
      merge = lib.mergeEqualOption;
    };

    # A derivation (`type = "derivation"`) or a store path string; one definition only, as in nixpkgs.
    package = mkOptionType {
      name = "package";
      descriptionClass = "noun";
      check = x: lib.isDerivation x || lib.isStorePath x;
      merge = lib.mergeOneOption;
    };

    attrs = mkOptionType {
      name = "attrs";
      description = "attribute set";
      descriptionClass = "noun";
      check = isAttrs;
      # A shallow `//` of the definitions, later ones (earlier modules) winning.
      merge = _loc: defs: builtins.foldl' (res: def: res // def.value) { } defs;
      emptyValue = { value = { }; };
    };

    # Any value: sets merge recursively, a list or a string-like set (a derivation, anything with
    # `outPath` or `__toString`) must have one definition, functions merge their results, other values
    # must agree.
    anything = mkOptionType {
      name = "anything";
      descriptionClass = "noun";
      merge = loc: defs:
        let
          kind = v: if isAttrs v && lib.isStringLike v then "stringCoercibleSet" else builtins.typeOf v;
          common = builtins.foldl'
            (k: def: if kind def.value == k then k
              else throw "The option `${lib.showOption loc}' has conflicting option types in ${lib.showFiles (lib.getFiles defs)}")
            (kind (head defs).value)
            defs;
        in
        if common == "set" then (types.attrsOf types.anything).merge loc defs
        else if common == "list" then
          if length defs > 1 then throw "The option `${lib.showOption loc}' has conflicting definitions, in ${lib.showFiles (lib.getFiles defs)}."
          else (types.listOf types.anything).merge loc defs
        else if common == "stringCoercibleSet" then lib.mergeOneOption loc defs
        else if common == "lambda" then
          arg: types.anything.merge (loc ++ [ "<function body>" ]) (map (def: def // { value = def.value arg; }) defs)
        else lib.mergeEqualOption loc defs;
    };

    listOf = elemType: mkOptionType {
      name = "listOf";
      mergeWith = mergeElems "listOf" types.listOf elemType;
      description = "list of ${optionDescriptionPhrase (class: class == "noun" || class == "composite") elemType}";
      descriptionClass = "composite";
      check = isList;
      emptyValue = { value = [ ]; };
      # Each element is merged on its own, so `mkIf` inside a list drops the element when false.
      merge = loc: defs:
        map (x: x.value) (filter (x: x ? value) (concatLists (lib.imap1
          (n: def: lib.imap1
            (m: v: (lib.mergeDefinitions (loc ++ [ "[definition ${toString n}-entry ${toString m}]" ]) elemType [ (elemDef def v) ]).optionalValue)
            def.value)
          defs)));
      getSubOptions = prefix: elemType.getSubOptions (prefix ++ [ "*" ]);
      nestedTypes = { inherit elemType; };
    };

    nonEmptyListOf = elemType:
      let list = addCheck (types.listOf elemType) (l: l != [ ]); in
      list // {
        description = "non-empty ${optionDescriptionPhrase (class: class == "noun") list}";
        emptyValue = { };
      };

    # Definitions merge per attribute; an attribute whose definitions all vanish (`mkIf false`) is absent.
    attrsOf = elemType: mkOptionType {
      name = "attrsOf";
      mergeWith = mergeElems "attrsOf" types.attrsOf elemType;
      description = "attribute set of ${optionDescriptionPhrase (class: class == "noun" || class == "composite") elemType}";
      descriptionClass = "composite";
      check = isAttrs;
      emptyValue = { value = { }; };
      merge = loc: defs:
        let merged = mergePerName loc elemType defs; in
        builtins.mapAttrs (_n: r: r.mergedValue) (lib.filterAttrs (_n: r: r.isDefined) merged);
      getSubOptions = prefix: elemType.getSubOptions (prefix ++ [ "<name>" ]);
      nestedTypes = { inherit elemType; };
    };

    # Like `attrsOf`, but the set of names does not depend on `mkIf` conditions, so reading one attribute
    # never evaluates the others; an attribute whose definitions all vanish is the element type's
    # `emptyValue` (`[ ]` for a list), or throws when read if the type has none.
    lazyAttrsOf = elemType: mkOptionType {
      name = "lazyAttrsOf";
      mergeWith = mergeElems "lazyAttrsOf" types.lazyAttrsOf elemType;
      description = "lazy attribute set of ${optionDescriptionPhrase (class: class == "noun" || class == "composite") elemType}";
      descriptionClass = "composite";
      check = isAttrs;
      emptyValue = { value = { }; };
      merge = loc: defs: builtins.mapAttrs
        (_n: r: r.optionalValue.value or elemType.emptyValue.value or r.mergedValue)
        (mergePerName loc elemType defs);
      getSubOptions = prefix: elemType.getSubOptions (prefix ++ [ "<name>" ]);
      nestedTypes = { inherit elemType; };
    };

    # Exactly one definition, of the given type.
    uniq = elemType: elemType // { merge = lib.mergeOneOption; };

    nullOr = elemType: mkOptionType {
      name = "nullOr";
      mergeWith = mergeElems "nullOr" types.nullOr elemType;
      description = "null or ${optionDescriptionPhrase (class: class == "noun" || class == "conjunction") elemType}";
      descriptionClass = "conjunction";
      check = x: x == null || elemType.check x;
      emptyValue = { value = null; };
      merge = loc: defs:
        let nulls = lib.count (def: def.value == null) defs; in
        if nulls == length defs then null
        else if nulls != 0 then throw "The option `${lib.showOption loc}' is defined both null and not null, in ${lib.showFiles (lib.getFiles defs)}."
        else elemType.merge loc defs;
      getSubOptions = elemType.getSubOptions;
      nestedTypes = { inherit elemType; };
    };

    functionTo = elemType: mkOptionType {
      name = "functionTo";
      description = "function that evaluates to a(n) ${optionDescriptionPhrase (class: class == "noun" || class == "composite") elemType}";
      descriptionClass = "composite";
      check = isFunction;
      merge = loc: defs: arg:
        (lib.mergeDefinitions (loc ++ [ "<function body>" ]) elemType (map (def: def // { value = def.value arg; }) defs)).mergedValue;
    };

    enum = values: mkOptionType {
      name = "enum";
      description =
        if values == [ ] then "impossible (empty enum)"
        else if length values == 1 then "value ${showEnumValue (head values)} (singular enum)"
        else "one of ${lib.concatMapStringsSep ", " showEnumValue values}";
      descriptionClass = if length values < 2 then "noun" else "conjunction";
      check = x: builtins.elem x values;
      merge = lib.mergeEqualOption;
      extra = { enumValues = values; };
    };

    either = t1: t2: mkOptionType {
      name = "either";
      description =
        if t1.descriptionClass or null == "nonRestrictiveClause"
        then "${t1.description}, or ${optionDescriptionPhrase (class: class == "noun" || class == "conjunction") t2}"
        else "${optionDescriptionPhrase (class: class == "noun" || class == "conjunction") t1} or ${optionDescriptionPhrase (class: class == "noun" || class == "conjunction" || class == "composite") t2}";
      descriptionClass = "conjunction";
      check = x: t1.check x || t2.check x;
      merge = loc: defs:
        let values = lib.getValues defs; in
        if all t1.check values then t1.merge loc defs
        else if all t2.check values then t2.merge loc defs
        else lib.mergeOneOption loc defs;
      nestedTypes = { left = t1; right = t2; };
    };

    oneOf = ts:
      if ts == [ ] then throw "types.oneOf needs at least one type in its argument"
      else builtins.foldl' types.either (head ts) (builtins.tail ts);

    coercedTo = fromType: coerce: toType: mkOptionType {
      name = "coercedTo";
      description = "${optionDescriptionPhrase (class: class == "noun") toType} or ${optionDescriptionPhrase (class: class == "noun") fromType} convertible to it";
      emptyValue = toType.emptyValue;
      check = x: (fromType.check x && toType.check (coerce x)) || toType.check x;
      merge = loc: defs:
        toType.merge loc (map (def: def // { value = if fromType.check def.value then coerce def.value else def.value; }) defs);
      getSubOptions = toType.getSubOptions;
    };

    # A type as a value, for `freeformType`; several definitions must describe the same type.
    optionType = mkOptionType {
      name = "optionType";
      description = "optionType";
      descriptionClass = "noun";
      check = x: isAttrs x && x ? _type && x._type == "option-type";
      merge = loc: defs:
        if all (d: d.value.description == (head defs).value.description) defs then (head defs).value
        else throw "The option `${lib.showOption loc}' has conflicting definition values:${lib.showDefs defs}";
    };

    submodule = modules: types.submoduleWith { shorthandOnlyDefinesConfig = true; modules = lib.toList modules; };

    # An option whose value is the `config` of its own module evaluation: the type's `modules` declare the
    # sub-options, every definition becomes one more module, and `name` is the option's last path element
    # (the attribute name under `attrsOf submodule`).
    submoduleWith = { modules, specialArgs ? { }, shorthandOnlyDefinesConfig ? false, description ? "submodule" }:
      let
        defModule = def:
          if isAttrs def.value && shorthandOnlyDefinesConfig then { _file = def.file; config = def.value; }
          else { _file = def.file; imports = [ def.value ]; };
        evalWith = loc: extraModules: lib.evalModules {
          modules = [ { _module.args.name = lib.mkOptionDefault (lib.last loc); } ] ++ modules ++ extraModules;
          inherit specialArgs;
          prefix = loc;
        };
      in
      mkOptionType {
        name = "submodule";
        inherit description;
        emptyValue = { value = { }; };
        check = x: isAttrs x || isFunction x || builtins.isPath x;
        merge = loc: defs: (evalWith loc (map defModule defs)).config;
        getSubOptions = prefix: (evalWith (if prefix == [ ] then [ "<name>" ] else prefix) [ ]).options;
        # Two declarations of one submodule option (in different modules) combine their modules.
        mergeWith = other:
          if other.name or null == "submodule" && other ? submoduleModules then
            types.submoduleWith {
              modules = modules ++ other.submoduleModules;
              specialArgs = specialArgs // other.submoduleSpecialArgs;
              inherit shorthandOnlyDefinesConfig description;
            }
          else null;
        extra = {
          submoduleModules = modules;
          submoduleSpecialArgs = specialArgs;
        };
      };
  };

  # Merge the definitions of a set-valued option name by name: `{ NAME = mergeDefinitions result; }`.
  mergePerName = loc: elemType: defs:
    lib.zipAttrsWith
      (name: ds: lib.mergeDefinitions (loc ++ [ name ]) elemType ds)
      (map (def: builtins.mapAttrs (_n: v: elemDef def v) def.value) defs);
in
types
