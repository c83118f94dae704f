# Declares `environment.etc`, as NixOS's `system/etc/etc.nix`: files under `/etc` of the live root,
# from text or from a file or directory the profile names (added to the store by content). NixOS links
# `/etc` entries into its store; kiln's live root has no store, so an entry is a copy, and the
# default `mode = "symlink"` means a regular file (0644) or tree (modes as in the source).
{ config, lib, ... }:
let
  inherit (lib) mkOption types filterAttrs mapAttrs' nameValuePair attrValues;

  etcOpts = { name, config, ... }: {
    options = {
      enable = mkOption { type = types.bool; default = true; description = "Whether the file is written."; };
      target = mkOption { type = types.str; default = name; description = "The path under `/etc` (the attribute's name by default)."; };
      text = mkOption { type = types.nullOr types.lines; default = null; description = "The file's contents."; };
      source = mkOption { type = types.nullOr types.path; default = null; description = "A file or directory whose copy the entry is."; };
      mode = mkOption {
        type = types.strMatching "symlink|direct-symlink|0?[0-7]{3,4}";
        default = "symlink";
        description = "The file's permissions in octal; `symlink` (NixOS's default) keeps the source's, 0644 for `text`.";
      };
      user = mkOption { type = types.str; default = "root"; description = "The file's owner."; };
      group = mkOption { type = types.str; default = "root"; description = "The file's group."; };
    };
  };

  entries = filterAttrs (_: e: e.enable) config.environment.etc;
  # Each component a plain name: no `..`, `.`, empty or absolute part.
  validTarget = t: t != "" && builtins.all (c: c != "" && c != "." && c != "..")
    (lib.splitString "/" t);
in
{
  options.environment.etc = mkOption {
    type = types.attrsOf (types.submodule etcOpts);
    default = { };
    example = lib.literalExpression ''{ "issue".text = "Welcome to kiln\n"; "nanorc".source = ./nanorc; }'';
    description = "Files of the live root's `/etc`, by path under `/etc`.";
  };

  config = {
    assertions = map (e: {
      assertion = validTarget e.target;
      message = "environment.etc.\"${e.target}\": the path must stay inside /etc (no `..`, `.`, empty or leading `/` components).";
    }) (attrValues entries) ++ map (e: {
      assertion = (e.text != null) != (e.source != null);
      message = "environment.etc.\"${e.target}\": give exactly one of `text` and `source`.";
    }) (attrValues entries);

    system.files = mapAttrs' (_: e: nameValuePair "etc/${e.target}" (
      { inherit (e) user group text source; }
      // lib.optionalAttrs (builtins.match "0?[0-7]{3,4}" e.mode != null) { inherit (e) mode; }
    )) (filterAttrs (_: e: validTarget e.target) entries);
  };
}
