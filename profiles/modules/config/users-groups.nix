# Declares `users.users`, `users.groups` and `security.sudo`, as NixOS's `users-groups.nix` and
# `security/sudo.nix` do. The accounts are added to those Debian's packages made (base-passwd and the
# maintainer scripts' `adduser --system`) by the system layer's builder, which picks the ids left
# unset (people from 1000 up, system accounts from 999 down) and fails, naming the user, on a group
# that neither `users.groups` nor a package defines.
{ config, lib, pkgs, ... }:
let
  inherit (lib) mkOption mkDefault mkIf types mapAttrsToList filterAttrs attrValues concatMap;

  userOpts = { name, config, ... }: {
    options = {
      name = mkOption { type = types.str; default = name; description = "The account's name (the attribute's by default)."; };
      enable = mkOption { type = types.bool; default = true; description = "Whether the account exists."; };
      uid = mkOption { type = types.nullOr types.ints.u32; default = null; description = "The user id; null picks a free one (or keeps the one Debian's packages gave the account)."; };
      isNormalUser = mkOption {
        type = types.bool;
        default = false;
        description = "A person's account: uid from 1000, group `users`, a home under `/home` made from `/etc/skel`, bash as its shell.";
      };
      isSystemUser = mkOption { type = types.bool; default = false; description = "A system account: uid below 1000, no home, no login shell."; };
      group = mkOption { type = types.str; default = ""; description = "The primary group (it must exist: `users.groups` or Debian's)."; };
      extraGroups = mkOption { type = types.listOf types.str; default = [ ]; example = [ "wheel" "video" ]; description = "Other groups the user is a member of."; };
      description = mkOption { type = types.str; default = ""; description = "The account's full name (the GECOS field)."; };
      home = mkOption { type = types.str; default = "/nonexistent"; description = "The home directory."; };
      createHome = mkOption { type = types.bool; default = false; description = "Whether the home directory is made (from `/etc/skel`, owned by the user)."; };
      homeMode = mkOption { type = types.strMatching "[0-7]{1,4}"; default = "700"; description = "The home directory's permissions."; };
      shell = mkOption { type = types.str; default = "/usr/sbin/nologin"; example = "/bin/bash"; description = "The login shell (a path in the live root)."; };
      hashedPassword = mkOption {
        type = types.nullOr types.str;
        default = null;
        description = "The password as crypt(3) gives it (`mkpasswd -m sha-512`); `\"\"` means no password, `\"!\"` a locked one.";
      };
      initialHashedPassword = mkOption { type = types.nullOr types.str; default = null; description = "As `hashedPassword` (a live system has no later boots for the difference to matter)."; };
      initialPassword = mkOption {
        type = types.nullOr types.str;
        default = null;
        description = "The password in clear text, hashed (SHA-512 crypt) when the image is built. It is readable in the profile and the store: use it for test images only.";
      };
      openssh.authorizedKeys.keys = mkOption {
        type = types.listOf types.str;
        default = [ ];
        description = "SSH public keys that may log in as this user (`/etc/ssh/authorized_keys.d/<name>`).";
      };
      openssh.authorizedKeys.keyFiles = mkOption {
        type = types.listOf types.path;
        default = [ ];
        description = "Files of SSH public keys, read at evaluation, that may log in as this user.";
      };
    };
    config = lib.mkMerge [
      (mkIf config.isNormalUser {
        group = mkDefault "users";
        home = mkDefault "/home/${config.name}";
        createHome = mkDefault true;
        shell = mkDefault "/bin/bash";
      })
    ];
  };

  groupOpts = { name, ... }: {
    options = {
      name = mkOption { type = types.str; default = name; description = "The group's name."; };
      gid = mkOption { type = types.nullOr types.ints.u32; default = null; description = "The group id; null picks a free one (or keeps Debian's)."; };
      members = mkOption { type = types.listOf types.str; default = [ ]; description = "Users that are members (besides those naming it in `extraGroups`)."; };
    };
  };

  users = filterAttrs (_: u: u.enable) config.users.users;
in
{
  options.users = {
    users = mkOption {
      type = types.attrsOf (types.submodule userOpts);
      default = { };
      example = lib.literalExpression ''{ alice = { isNormalUser = true; extraGroups = [ "wheel" ]; openssh.authorizedKeys.keys = [ "ssh-ed25519 AAAA... alice@laptop" ]; }; }'';
      description = "The accounts of the live system, added to those Debian's packages make.";
    };
    groups = mkOption {
      type = types.attrsOf (types.submodule groupOpts);
      default = { };
      example = { students.gid = 1001; };
      description = "Groups of the live system, added to those Debian's packages make.";
    };
    accounts = mkOption {
      type = types.listOf types.attrs;
      internal = true;
      readOnly = true;
      description = "`users.users` as the system layer's builder reads them.";
    };
    groupList = mkOption {
      type = types.listOf types.attrs;
      internal = true;
      readOnly = true;
      description = "`users.groups` as the system layer's builder reads them.";
    };
  };

  options.security.sudo = {
    enable = mkOption { type = types.bool; default = true; description = "Whether `sudo` is installed, for the members of `wheel` (and Debian's `sudo` group)."; };
    wheelNeedsPassword = mkOption { type = types.bool; default = true; description = "Whether members of `wheel` give their password to `sudo`."; };
    extraConfig = mkOption { type = types.lines; default = ""; description = "Lines added to `/etc/sudoers.d/kiln`."; };
  };

  config = {
    users.users.root = {
      uid = 0;
      group = "root";
      home = "/root";
      shell = mkDefault "/bin/bash";
    };
    users.groups.wheel = { };

    users.accounts = mapAttrsToList (_: u: {
      inherit (u) name uid isNormalUser group extraGroups description home createHome homeMode shell initialPassword;
      hashedPassword = if u.hashedPassword != null then u.hashedPassword else u.initialHashedPassword;
    }) users;
    users.groupList = mapAttrsToList (_: g: { inherit (g) name gid members; }) config.users.groups;

    assertions = concatMap (u: [
      {
        assertion = u.isNormalUser -> !u.isSystemUser;
        message = "users.users.${u.name}: isNormalUser and isSystemUser are both set; choose one.";
      }
      {
        assertion = u.group != "";
        message = "users.users.${u.name}.group is unset: name the account's primary group (`users.groups.${u.name} = { };` makes one), or set `isNormalUser = true`.";
      }
    ]) (attrValues users);

    environment.systemPackages = mkIf config.security.sudo.enable [ pkgs.sudo ];

    system.files = lib.mkMerge ([
      (mkIf config.security.sudo.enable {
        "etc/sudoers.d/kiln" = {
          mode = "0440";
          text = ''
            # Generated by kiln from security.sudo.
            %wheel ALL=(ALL:ALL) ${lib.optionalString (!config.security.sudo.wheelNeedsPassword) "NOPASSWD: "}ALL
          '' + config.security.sudo.extraConfig;
        };
      })
    ] ++ mapAttrsToList (_: u:
      let keys = u.openssh.authorizedKeys.keys ++ map (f: builtins.readFile f) u.openssh.authorizedKeys.keyFiles;
      in mkIf (keys != [ ]) {
        "etc/ssh/authorized_keys.d/${u.name}" = { mode = "0444"; text = lib.concatMapStrings (k: lib.removeSuffix "\n" k + "\n") keys; };
      }) users);
  };
}
