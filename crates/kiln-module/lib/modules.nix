# The module system: `evalModules` and the definition wrappers (`mkIf`, `mkMerge`, `mkOverride`, `mkOrder`
# and their named priorities).
#
# Semantics (DESIGN.md, "Module system"), in the order evaluation applies them:
# 1. Collection: the given modules, then their `imports`, level by level (breadth first, via
#    `builtins.genericClosure`); a module's key is its path (or its `key`), so a file imported twice counts
#    once and the first occurrence keeps its place.  `disabledModules` removes modules by key.
# 2. Merge order: the collected list is reversed, so definitions of one option are seen last-module-first.
#    With `[ decl {l=[1];} {l=[2];} {l=[3];} { imports = [ {l=[4];} {l=[5];} ]; l = [6]; } ]` a list option
#    is `[ 5 4 6 3 2 1 ]`.
# 3. Per option: `mkMerge` and `mkIf` are discharged (a false `mkIf` drops out), the lowest priority number
#    wins (plain definitions are 100, the option's `default` 1500), the winners are sorted stably by
#    `mkOrder` (plain 1000), type-checked, and merged by the option's type.
# 4. `config` is the fixpoint: modules receive the final `config`, and each option is merged only when read.
{ lib }:
let
  inherit (builtins) isAttrs isFunction isString isBool length head filter concatMap concatLists mapAttrs attrNames foldl' sort any;

  defaultPriority = 100;
  defaultOrder = 1000;

  # The `_type` of a definition wrapper, or "" for an ordinary value.
  propertyType = v: if isAttrs v then v._type or "" else "";

  mkIf = condition: content: { _type = "if"; inherit condition content; };
  mkMerge = contents: { _type = "merge"; inherit contents; };
  mkOverride = priority: content: { _type = "override"; inherit priority content; };
  mkOrder = priority: content: { _type = "order"; inherit priority content; };

  # Push `mkMerge`, `mkIf`, `mkOverride` and `mkOrder` around a set of definitions down into its attributes,
  # giving a list of plain sets.  The condition of a `mkIf` is not evaluated here, only the names below it,
  # which is what lets `config = mkIf config.x.enable { ... }` refer to `config`.
  pushDownProperties = cfg: map (p: mapAttrs (_n: p.wrap) p.set) (pushDown cfg);

  # The same, but each result is the original set (`set`, whose attribute positions are still known to
  # `unsafeGetAttrPos`) with the function (`wrap`) that puts the wrappers back around one of its values.
  pushDown = pushDownWith (v: v);

  # `pushDown` of `c` below the wrappers that `wrap` puts back.  A function of the library rather than a
  # `go` in a `let` of `pushDown`: a closure that refers to its own `let` is a reference cycle made anew
  # by every call, which only kiln's cycle collector can free (and most of the garbage of a module
  # evaluation was such cycles).
  pushDownWith = wrap: c:
    let t = propertyType c; in
    if t == "merge" then concatMap (pushDownWith wrap) c.contents
    else if t == "if" then pushDownWith (v: wrap (mkIf c.condition v)) c.content
    else if t == "override" then pushDownWith (v: wrap (mkOverride c.priority v)) c.content
    else if t == "order" then pushDownWith (v: wrap (mkOrder c.priority v)) c.content
    else [ { set = c; inherit wrap; } ];

  # Expand one definition of an option into `{ value; priority; order; active; mkIf; }` items: `mkMerge`
  # splices, `mkOverride`/`mkOrder` set the priority/order of what they wrap, and a `mkIf` records its
  # condition in `mkIf`; under a false `mkIf` the item is kept (unexpanded) with `active = false`, so
  # `kiln explain` can show it, and only active items take part in the merge.
  dischargeProperties = loc: priority: order: v:
    let
      go = priority: order: cond: v:
        let t = propertyType v; in
        if t == "merge" then concatMap (go priority order cond) v.contents
        else if t == "if" then
          if !(isBool v.condition) then throw "`mkIf' called with a non-Boolean condition in a definition of `${lib.showOption loc}'"
          else if v.condition then go priority order true v.content
          else [ { value = v.content; inherit priority order; active = false; mkIf = false; } ]
        else if t == "override" then go v.priority order cond v.content
        else if t == "order" then go priority v.priority cond v.content
        else [ { value = v; inherit priority order; active = true; mkIf = cond; } ];
    in
    go priority order null v;

  # Merge the definitions (`[ { file; value; } ]`, raw, in merge order) of the option at `loc` with `type`.
  mergeDefinitions = loc: type: defs:
    let
      explained = concatMap (dischargeDefinition loc) defs;
      discharged = filter (d: d.active) explained;
      highestPrio = foldl' (p: d: if d.priority < p then d.priority else p) 9999 discharged;
      winners = filter (d: d.priority == highestPrio) discharged;
      sorted = if any (d: d.order != defaultOrder) winners then sort (a: b: a.order < b.order) winners else winners;
      # `line` only when the definition's position is known and lies in its module's file.
      defsFinal = map (d: if d.line == null then { inherit (d) file value; } else { inherit (d) file value line; }) sorted;
      isDefined = defsFinal != [ ];
      mistyped = filter (d: !(type.check d.value)) defsFinal;
      mergedValue =
        if !isDefined then throw "The option `${lib.showOption loc}' is used but not defined."
        else if mistyped != [ ] then
          throw "A definition for option `${lib.showOption loc}' is not of type `${type.description}'. Definition values:${lib.showDefs mistyped}"
        else type.merge loc defsFinal;
    in
    {
      inherit defsFinal isDefined highestPrio mergedValue;
      # Every definition with file, line, priority, order and `mkIf` state (null without `mkIf`), and
      # whether it `won` (took part in the merged value), for `kiln explain`.
      definitionsWithPriorities = map (d: removeAttrs d [ "active" ] // { won = d.active && d.priority == highestPrio; }) explained;
      optionalValue = if isDefined then { value = mergedValue; } else { };
    };

  # `dischargeProperties` of one definition (`{ file; value; defLine; }`), each item also carrying the
  # definition's `file` and `line`: the items `mergeDefinitions` works on, built in one step (a `//` per item
  # made them twice, and a `line` of their own each).
  dischargeDefinition = loc: def: dischargeItems loc def.file (lineIn def) defaultPriority defaultOrder null def.value;

  # The items of one definition value `v` (see `dischargeDefinition`); a function of the library rather
  # than a `go` in a `let`, for the reason given at `pushDownWith`.
  dischargeItems = loc: file: line: priority: order: cond: v:
    let t = propertyType v; in
    if t == "merge" then concatMap (dischargeItems loc file line priority order cond) v.contents
    else if t == "if" then
      if !(isBool v.condition) then throw "`mkIf' called with a non-Boolean condition in a definition of `${lib.showOption loc}'"
      else if v.condition then dischargeItems loc file line priority order true v.content
      else [ { value = v.content; inherit priority order file line; active = false; mkIf = false; } ]
    else if t == "override" then dischargeItems loc file line v.priority order cond v.content
    else if t == "order" then dischargeItems loc file line priority v.priority cond v.content
    else [ { value = v; inherit priority order file line; active = true; mkIf = cond; } ];

  # The line of a definition, as `mergeLevel` recorded it (definitions made by types have none).
  lineIn = def: def.defLine or null;

  # The line where attribute `name` of `set` is written, if that is in `file` (a string: `unifyModule`
  # made it one), else null.  Recorded as a line rather than as the position set, which would otherwise
  # be kept with every definition.
  lineAt = name: set: file:
    let pos = builtins.unsafeGetAttrPos name set; in
    if pos != null && pos.file == file then pos.line else null;

  # Combine the declarations of one option (usually exactly one).  Several declarations may not both give
  # a `default`, `example`, `description` or `apply`, and their types must merge (`type.mergeWith`: equal
  # types, or submodules whose modules combine); otherwise the later declaration is an error naming the
  # earlier ones.
  mergeOptionDecls = loc: decls:
    foldl'
      (res: d:
        let
          bothHave = k: d.options ? ${k} && res ? ${k};
          t = res.type;
          t' = d.options.type;
          # Submodules (also inside containers) combine; otherwise equal types merge into the first.
          combined = if t ? mergeWith then t.mergeWith t' else null;
          mergedType =
            if !(bothHave "type") then null
            else if combined != null then combined
            else if t.name or null == t'.name or null && t.description or null == t'.description or null then t
            else null;
        in
        if bothHave "default" || bothHave "example" || bothHave "description" || bothHave "apply"
          || (bothHave "type" && mergedType == null)
        then throw "The option `${lib.showOption loc}' in `${d.file}' is already declared in ${lib.showFiles res.declarations}."
        else
          d.options // res // {
            declarations = res.declarations ++ [ d.file ];
          } // (if mergedType == null then { } else { type = mergedType; }))
      { inherit loc; declarations = [ ]; }
      decls;

  # The type of a merged declaration; `types.unspecified` when no declaration gives one.
  optionType = opt: if opt.type or null == null then lib.types.unspecified else opt.type;

  # The option at `loc`, declared by `decls` and defined by `defs`, with its merged results added.
  evalOption = loc: decls: defs:
    let
      opt = mergeOptionDecls loc decls;
      # The default is the first definition, at `mkOptionDefault` priority, located where it is written.
      defs' = lib.optional (opt ? default) {
        file = head opt.declarations;
        value = mkOverride 1500 opt.default;
        defLine = lineAt "default" opt (head opt.declarations);
      } ++ defs;
      res =
        if opt.readOnly or false == true && length defs' > 1 then
          # Show each definition merged on its own, so wrappers like the default's priority stay hidden.
          let separate = map (def: def // { value = (mergeDefinitions loc (optionType opt) [ def ]).mergedValue; }) defs'; in
          throw "The option `${lib.showOption loc}' is read-only, but it's set multiple times. Definition values:${lib.showDefs separate}"
        else mergeDefinitions loc (optionType opt) defs';
    in
    opt // {
      type = optionType opt;
      value = if opt.apply or null != null then opt.apply res.mergedValue else res.mergedValue;
      inherit (res) isDefined highestPrio definitionsWithPriorities;
      definitions = map (d: d.value) res.defsFinal;
      files = map (d: d.file) res.defsFinal;
      definitionsWithLocations = res.defsFinal;
      __toString = _: lib.showOption loc;
    };

  # Merge one level of the option tree.  `decls` are `{ file; options; }` and `defs` are `{ file; set; wrap; }`
  # (from `pushDown`), both in merge order.  Returns the option tree of this level and
  # the definitions that match no declaration, each with its `prefix` below this level.
  mergeLevel = prefix: decls: defs:
    let
      declsByName = lib.zipAttrsWith (_n: ds: ds)
        (map (d: mapAttrs (_n: o: { inherit (d) file; options = o; }) (expectSet prefix d.file d.options)) decls);
      defsByName = lib.zipAttrsWith (_n: ds: ds)
        (map (d: mapAttrs (n: v: { inherit (d) file; value = d.wrap v; defLine = lineAt n d.set d.file; }) (expectSet prefix d.file d.set)) defs);
      node = name: ds:
        let
          loc = prefix ++ [ name ];
          optionDecls = filter (d: lib.isOption d.options) ds;
          nameDefs = defsByName.${name} or [ ];
        in
        if optionDecls == [ ] then {
          isOption = false;
          sub = mergeLevel loc ds
            (concatMap (d: map (c: c // { inherit (d) file; }) (pushDown d.value)) nameDefs);
        }
        else if length optionDecls != length ds then
          throw "The option `${lib.showOption loc}' in `${(head optionDecls).file}' is a prefix of options in ${lib.showFiles (map (d: d.file) (filter (d: !(lib.isOption d.options)) ds))}."
        else { isOption = true; option = evalOption loc ds nameDefs; };
      nodes = mapAttrs node declsByName;
      # Definitions without a declaration, ordered by name (this level's and those from below alike), so the
      # first one, which the error names, is the one nixpkgs would name.
      unmatchedByName =
        mapAttrs (n: x: if x.isOption then [ ] else map (u: u // { prefix = [ n ] ++ u.prefix; }) x.sub.unmatched) nodes
        // mapAttrs (n: ds: map (d: d // { prefix = [ n ]; }) ds) (removeAttrs defsByName (attrNames declsByName));
    in
    {
      options = mapAttrs (_n: x: if x.isOption then x.option else x.sub.options) nodes;
      unmatched = concatLists (builtins.attrValues unmatchedByName);
    };

  expectSet = loc: file: v:
    if isAttrs v then v
    else throw "The option set `${lib.showOption loc}' can only be defined by an attribute set, but the definition in `${file}' is ${lib.showValue v}.";

  optionsToConfig = tree: mapAttrs (_n: v: if lib.isOption v then v.value else optionsToConfig v) tree;

  # Apply a function module to the module arguments.  A named argument not in `args` (lib, config,
  # options, specialArgs and every specialArg) comes from `config._module.args`, lazily; an argument with a
  # default that nobody provides keeps its default.
  applyModuleArgs = key: f: args:
    if !(isFunction f) then f
    else
      let
        wanted = lib.filterAttrs (n: hasDefault: !hasDefault && !(args ? ${n})) (builtins.functionArgs f);
        fromConfig = mapAttrs
          (n: _: args.config._module.args.${n} or (throw "The module `${key}' needs the argument `${n}', which is neither in specialArgs nor in _module.args."))
          wanted;
      in
      f (args // fromConfig);

  # Turn one element of a `modules` or `imports` list into `{ key; file; imports; disabledModules; options; config; }`.
  loadModule = args: parentFile: parentKey: n: m:
    if isFunction m || isAttrs m then
      let
        key = "${parentKey}:anon-${toString n}";
        applied = applyModuleArgs key m args;
      in
      unifyModule (positionFile parentFile applied) key applied
    else
      let file = toString m; in
      unifyModule file file (applyModuleArgs file (import m) args);

  # An anonymous module at the top has no file of its own; name the file its attributes were written in.
  positionFile = parentFile: m:
    let
      names = attrNames m;
      pos = if names == [ ] then null else builtins.unsafeGetAttrPos (head names) m;
    in
    if parentFile != "<unknown-file>" || pos == null then parentFile else pos.file;

  moduleMetaNames = [ "_file" "key" "disabledModules" "imports" "freeformType" "meta" ];

  # Normalise the shorthand form (`{ boot.x = 1; }`) and the full form (`{ options; config; }`).
  unifyModule = file: key: m:
    let
      m' = if isAttrs m then m else throw "The module `${key}' is not an attribute set (or a function returning one) but ${lib.showValue m}.";
      shorthand = !(m' ? config || m' ? options);
      stray = attrNames (removeAttrs m' (moduleMetaNames ++ [ "config" "options" ]));
      config =
        if shorthand then removeAttrs m' moduleMetaNames
        else if stray != [ ] then
          throw "Module `${key}' has an unsupported attribute `${head stray}'. This is caused by introducing a top-level `config' or `options' attribute. Add configuration attributes immediately on the top level instead, or move all of them (namely: ${toString stray}) into the explicit `config' attribute."
        else m'.config or { };
    in
    {
      file = toString (m'._file or file);
      key = toString (m'.key or key);
      imports = m'.imports or [ ];
      disabledModules = m'.disabledModules or [ ];
      options = m'.options or { };
      config = if m' ? freeformType then mkMerge [ { _module.freeformType = m'.freeformType; } config ] else config;
    };

  # The options every evaluation has: module arguments, the undeclared-definition check and the freeform type.
  internalModule = { _file = "<kiln/lib/modules.nix>"; key = "<kiln/lib/modules.nix>"; options._module = {
    args = lib.mkOption {
      type = lib.types.lazyAttrsOf lib.types.raw;
      default = { };
      internal = true;
      description = "Additional arguments passed to each module (e.g. `pkgs`).";
    };
    check = lib.mkOption {
      type = lib.types.bool;
      default = true;
      internal = true;
      description = "Whether to check that every definition has a declared option.";
    };
    freeformType = lib.mkOption {
      type = lib.types.nullOr lib.types.optionType;
      default = null;
      internal = true;
      description = "The type of definitions that match no declared option; null forbids them.";
    };
  }; };

  # The modules of `modules`, imports included, breadth first, duplicates and disabled modules removed.
  collectModules = modulesPath: modules: args:
    let
      load = parent: list: lib.imap1 (n: m: { module = loadModule args parent.file parent.key n m; key = null; }) list;
      keyed = map (e: e // { key = e.module.key; });
      closure = keep: builtins.genericClosure {
        startSet = filter keep (keyed (load { file = "<unknown-file>"; key = ""; } modules));
        operator = e: filter keep (keyed (load e.module e.module.imports));
      };
      all = closure (_: true);
      disabledKey = d:
        if isAttrs d then toString d.key
        else if isString d && !(lib.hasPrefix "/" d) && modulesPath != null then "${toString modulesPath}/${d}"
        else toString d;
      disabled = map disabledKey (concatMap (e: e.module.disabledModules) all);
    in
    map (e: e.module) (if disabled == [ ] then all else closure (e: !(builtins.elem e.key disabled)));

  # "Did you mean ...?" for an undeclared definition: the declared names closest to the first unknown part.
  suggestions = options: prefix: path:
    let
      walk = tree: done: rest:
        if rest == [ ] || !(isAttrs tree) || lib.isOption tree then [ ]
        else if tree ? ${head rest} then walk tree.${head rest} (done ++ [ (head rest) ]) (builtins.tail rest)
        else
          let
            wanted = head rest;
            scored = map (n: { name = n; d = lib.levenshtein (lib.toLower wanted) (lib.toLower n); })
              (filter (n: !(lib.hasPrefix "_" n)) (attrNames tree));
            # At most two edits, and fewer edits than the name has characters (so `t' suggests nothing).
            close = filter (s: s.d <= 2 && s.d < builtins.stringLength wanted) scored;
          in
          map (s: prefix ++ done ++ [ s.name ]) (lib.take 3 (lib.sortOn (s: s.d) close));
      found = walk options [ ] path;
      shown = map (p: "`${lib.showOption p}'") found;
    in
    if found == [ ] then ""
    else "\nDid you mean ${if length shown == 1 then head shown else builtins.concatStringsSep ", " (lib.init shown) + " or " + lib.last shown}?";

  evalModules = { modules, specialArgs ? { }, prefix ? [ ] }@evalArgs:
    let
      args = { inherit lib options config specialArgs; } // specialArgs;
      collected = lib.reverseList (collectModules (specialArgs.modulesPath or null) (modules ++ [ internalModule ]) args);
      merged = mergeLevel prefix
        (map (m: { inherit (m) file options; }) collected)
        (concatMap (m: map (c: c // { inherit (m) file; }) (pushDown m.config)) collected);
      options = merged.options;
      declaredConfig = optionsToConfig options;
      freeformType = declaredConfig._module.freeformType;
      freeformConfig =
        if merged.unmatched == [ ] then { }
        else freeformType.merge prefix (map (d: { inherit (d) file; value = lib.setAttrByPath d.prefix d.value; }) merged.unmatched);
      config = if freeformType == null then declaredConfig else lib.recursiveUpdate freeformConfig declaredConfig;
      firstUnmatched = head merged.unmatched;
      checked =
        if config._module.check && freeformType == null && merged.unmatched != [ ] then
          throw ("The option `${lib.showOption (prefix ++ firstUnmatched.prefix)}' does not exist. Definition values:${lib.showDefs [ firstUnmatched ]}"
            + suggestions options prefix firstUnmatched.prefix)
        else true;
    in
    {
      options = builtins.seq checked options;
      config = builtins.seq checked (removeAttrs config [ "_module" ]);
      _module = config._module;
      extendModules = extra: evalModules {
        modules = modules ++ extra.modules or [ ];
        specialArgs = specialArgs // extra.specialArgs or { };
        prefix = extra.prefix or prefix;
      };
      type = lib.types.submoduleWith { inherit modules specialArgs; };
    };
in
{
  inherit evalModules mkIf mkMerge mkOverride mkOrder mergeDefinitions pushDownProperties dischargeProperties;

  defaultOverridePriority = defaultPriority;
  defaultOrderPriority = defaultOrder;

  mkVMOverride = mkOverride 10;
  mkForce = mkOverride 50;
  mkImageMediaOverride = mkOverride 60;
  mkDefault = mkOverride 1000;
  mkOptionDefault = mkOverride 1500;
  mkBefore = mkOrder 500;
  mkAfter = mkOrder 1500;

  # A module that makes `to` an alias of `from`'s definitions.
  mkAliasDefinitions = option: mkIf option.isDefined (mkMerge option.definitions);

  mkFixStrictness = x: x;
}
