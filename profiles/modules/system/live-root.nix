# The live system's root file system, like NixOS's `system.build.toplevel` + `squashfsStore`, made of
# three squashfs layers that stage 1 (stage-1.nix) stacks with overlayfs under a tmpfs:
#
# - `base` (`system.build.debianRoot`): Debian's `Priority: required` set, `environment.corePackages`,
#   `environment.systemPackages` and `hardware.firmware`, with their dependencies, configured by the
#   root's own dpkg in kiln's build sandbox (maintainer scripts, debconf, triggers), as `mmdebstrap`
#   would install them;
# - `kernel` (`system.build.kernelLayer`): the kernel's modules and `boot.extraModulePackages`, indexed
#   by Debian's `depmod`;
# - `system` (`system.build.systemLayer`): what the options generate: accounts and homes
#   (`users.users`), and every file of `system.files` (`environment.etc`, systemd units, ...).
#
# Stage 1 then hands over to `/sbin/init`: Debian's systemd.
{ config, lib, pkgs, ... }:
let
  inherit (lib) mkOption types mapAttrs filterAttrs mapAttrsToList;
  cfg = config.environment;

  fileType = types.submodule ({ name, ... }: {
    options = {
      text = mkOption { type = types.nullOr types.lines; default = null; description = "The file's contents."; };
      source = mkOption { type = types.nullOr types.path; default = null; description = "A file or directory to copy (added to the store by content)."; };
      symlink = mkOption { type = types.nullOr types.str; default = null; description = "Make the file a symlink to this target."; };
      mode = mkOption { type = types.strMatching "0?[0-7]{3,4}"; default = "0644"; description = "The file's permissions, in octal."; };
      user = mkOption { type = types.str; default = "root"; description = "The file's owner (a user name)."; };
      group = mkOption { type = types.str; default = "root"; description = "The file's group (a group name)."; };
    };
  });

  compression = config.isoImage.squashfsCompression;
  basePackages = pkgs.closureOf (pkgs.requiredPackages ++ cfg.corePackages ++ cfg.systemPackages
    ++ config.hardware.firmware);
  epoch = config.system.sourceDateEpoch;

  # `toJSON` of a path value is its store path: the source's bytes are in the layer's key.
  files = mapAttrs (name: f: filterAttrs (_: v: v != null) {
    inherit (f) text symlink mode user group;
    source = if f.source == null then null else f.source;
  }) config.system.files;
in
{
  options.environment.corePackages = mkOption {
    type = types.listOf types.package;
    description = ''
      The packages every live system has besides Debian's `Priority: required` set: systemd as
      init, udev, D-Bus, kmod, sudo, and the tools a shell session expects. Set by kiln; replace it
      (`lib.mkForce`) only to build a smaller or different base.
    '';
  };

  options.system.debconfSelections = mkOption {
    type = types.lines;
    default = "";
    example = "locales locales/locales_to_be_generated multiselect de_DE.UTF-8 UTF-8";
    description = ''
      Answers to Debian packages' debconf questions, in `debconf-set-selections` format
      (`PACKAGE QUESTION TYPE VALUE`), set once every package is configured; each package named
      is then reconfigured with them (`dpkg-reconfigure`), so its maintainer scripts act on them.
    '';
  };

  options.system.debianRootFiles = mkOption {
    type = types.attrsOf types.lines;
    default = { };
    internal = true;
    example = { "usr/share/glib-2.0/schemas/90_kiln.gschema.override" = "[org.gnome.desktop.session]\nidle-delay=0\n"; };
    description = ''
      Text files of the base layer, by path relative to `/`, written before dpkg configures the
      packages, so that their maintainer scripts and triggers act on them (glib's trigger compiles
      a GSettings override into the schema cache). Changing one rebuilds the base layer; files
      nothing in the packages reads belong in `system.files`.
    '';
  };

  options.system.files = mkOption {
    type = types.attrsOf fileType;
    default = { };
    internal = true;
    description = ''
      Every file the configuration generates in the live root, by path relative to `/`
      (`"etc/hostname"`): the system layer's contents. `environment.etc` and the modules that
      write units and configuration fill it.
    '';
  };

  config = {
    environment.corePackages = with pkgs; [
      systemd-sysv systemd udev dbus libpam-systemd kmod
      iproute2 iputils-ping procps less nano ca-certificates
    ];

    # The base layer: dpkg configures every package of the closure in the build sandbox.
    system.build.debianRoot = derivation {
      name = "debian-root-${config.networking.hostName}";
      system = "x86_64-linux";
      builder = "debian-root";
      packages = basePackages;
      # Debian's fakeroot, which presents owners to dpkg when kiln is not root; bound read-only
      # into the sandbox then, never installed in the root.
      fakeroot = derivation {
        name = "fakeroot-root";
        system = "x86_64-linux";
        builder = "package-tree";
        packages = pkgs.closureOf [ pkgs.fakeroot ];
      };
      # Answers to the packages' debconf questions (the locales to generate, the keyboard, ...).
      debconfSelections = config.system.debconfSelections;
      files = builtins.toJSON config.system.debianRootFiles;
      inherit compression;
      SOURCE_DATE_EPOCH = epoch;
    };

    # The base layer's `.deb` files: for a local mirror (tests/bench/liveroot.sh) or a bill of
    # materials.
    system.build.baseDebs = map (p: p.src) basePackages;
    # The base layer's packages, for the image's package manifest (iso-image.nix).
    system.build.basePackages = basePackages;

    # The kernel's modules with Debian's depmod indexes, for udev's coldplug and modprobe.
    system.build.kernelLayer = derivation {
      name = "kernel-layer-${config.boot.kernelPackages.modDirVersion}";
      system = "x86_64-linux";
      builder = "kernel-layer";
      modulesTree = config.system.build.kernelModules;
      inherit (config.boot.kernelPackages) modDirVersion;
      kmod = derivation {
        name = "kmod-root";
        system = "x86_64-linux";
        builder = "package-tree";
        packages = pkgs.closureOf [ pkgs.kmod ];
      };
      inherit compression;
      SOURCE_DATE_EPOCH = epoch;
    };

    system.build.systemLayer = derivation {
      name = "system-layer-${config.networking.hostName}";
      system = "x86_64-linux";
      builder = "system-layer";
      base = config.system.build.debianRoot;
      users = builtins.toJSON config.users.accounts;
      groups = builtins.toJSON config.users.groupList;
      files = builtins.toJSON files;
      inherit compression;
      SOURCE_DATE_EPOCH = epoch;
    };

    # Bottom first; stage 1 mounts them in this order, the ISO holds each as `/live/<name>.squashfs`.
    system.build.liveLayers = [
      { name = "base"; layer = config.system.build.debianRoot; }
      { name = "kernel"; layer = config.system.build.kernelLayer; }
      { name = "system"; layer = config.system.build.systemLayer; }
    ];

    system.files = {
      "etc/hostname".text = "${config.networking.hostName}\n";
      "etc/hosts".text = ''
        127.0.0.1 localhost
        127.0.1.1 ${config.networking.hostName}
        ::1 localhost ip6-localhost ip6-loopback
        ff02::1 ip6-allnodes
        ff02::2 ip6-allrouters
      '';
      "etc/fstab".text = lib.concatStringsSep "\n" (mapAttrsToList (_: fs:
        let
          what = if fs.device != null then fs.device
            else if fs.label != null then "LABEL=${fs.label}"
            else fs.fsType;
        in "${what} ${fs.mountPoint} ${fs.fsType} ${lib.concatStringsSep "," fs.options} 0 ${if fs.noCheck then "0" else "2"}"
      # `/` is stage 1's overlay, mounted before systemd starts; listed, systemd-remount-fs would
      # remount it with a tmpfs's options.
      ) (removeAttrs config.fileSystems [ "/" ])) + "\n";
      # apt in the live system reads the archive the lock pins from.
      "etc/apt/sources.list".text = ''
        deb http://deb.debian.org/debian bookworm main contrib non-free non-free-firmware
        deb http://deb.debian.org/debian bookworm-updates main contrib non-free non-free-firmware
        deb http://security.debian.org/debian-security bookworm-security main contrib non-free non-free-firmware
      '';
      "etc/modprobe.d/kiln.conf".text = config.boot.modprobeConfig;
      "etc/modules-load.d/kiln.conf".text = lib.concatMapStrings (m: "${m}\n") config.boot.kernelModules;
    };
  };
}
