# Declares `isoImage.*`, what the image builder makes of the configuration (the values are set by
# `profiles/installer/cd-dvd/iso-image.nix` and the installer profiles), and `system.build.isoImage`,
# the derivation `kiln build` realises into `result/iso/<isoName>` (`<name>.manifest.json` and `.spdx.json` beside it).
#
# The boot menu is `isoImage.bootEntries`: the same entries for isolinux (BIOS) and systemd-boot
# (UEFI), the first one the default, each booting the kernel with `boot.kernelParams` plus its own
# parameters, as NixOS's installer menu offers the default, `nomodeset` and a serial console.
{ config, lib, pkgs, ... }:
let
  inherit (lib) mkOption types concatStringsSep optionalString;
  cfg = config.isoImage;
  kernelPackages = config.boot.kernelPackages;
  signingCertificate = if cfg.makeEfiBootable && cfg.secureBoot then config.boot.moduleSigning.certificateDer else null;
  menuLabel = "kiln${optionalString (cfg.edition != "") " ${cfg.edition}"}${cfg.appendToMenuLabel}";

  entryOpts = {
    options = {
      name = mkOption {
        type = types.strMatching "[a-z0-9][a-z0-9-]{0,31}";
        example = "nomodeset";
        description = "The entry's identifier: isolinux's `LABEL`, systemd-boot's `loader/entries/kiln-<name>.conf`.";
      };
      label = mkOption {
        type = types.strMatching "[^\n]+";
        example = "kiln gnome Installer (nomodeset)";
        description = "What the menu shows.";
      };
      kernelParams = mkOption {
        type = types.listOf types.str;
        default = [ ];
        example = [ "nomodeset" ];
        description = "Parameters after `boot.kernelParams` on this entry's kernel command line.";
      };
    };
  };
in
{
  options.isoImage = {
    isoBaseName = mkOption { type = types.str; default = "kiln"; description = "The start of the ISO file name."; };
    edition = mkOption { type = types.str; default = ""; description = "The edition (\"minimal\", \"gnome\", ...) named in the file name and volume ID."; };
    isoName = mkOption {
      type = types.str;
      default = "${cfg.isoBaseName}${lib.optionalString (cfg.edition != "") "-${cfg.edition}"}.iso";
      description = "The name of the ISO file.";
    };
    volumeID = mkOption {
      type = types.strMatching "[A-Z0-9_-]{1,32}";
      default = lib.toUpper "kiln${lib.optionalString (cfg.edition != "") "_${cfg.edition}"}";
      description = "The ISO 9660 volume ID (at most 32 upper-case letters, digits, `_` and `-`); the initrd finds the medium by it.";
    };
    makeEfiBootable = mkOption { type = types.bool; default = false; description = "Whether the ISO boots with UEFI (an El Torito ESP image)."; };
    secureBoot = mkOption {
      type = types.bool;
      default = false;
      description = ''
        Whether UEFI boots through Debian's signed chain, as Debian's own live ISOs do, so the ISO
        starts on a PC with Secure Boot on and Microsoft's keys: the Microsoft-signed shim
        (`shim-signed`) as `EFI/BOOT/BOOTX64.EFI`, Debian's signed GRUB (`grub-efi-amd64-signed`)
        with the menu of `isoImage.bootEntries` in `EFI/debian/grub.cfg`, MokManager
        (`shim-helpers-amd64-signed`), and Debian's kernel, which Debian signs. Off: systemd-boot.
      '';
    };
    makeBiosBootable = mkOption { type = types.bool; default = true; description = "Whether the ISO boots with BIOS (isolinux)."; };
    makeUsbBootable = mkOption { type = types.bool; default = false; description = "Whether the ISO is isohybrid, so it also boots when written to a USB stick."; };
    appendToMenuLabel = mkOption { type = types.str; default = " Installer"; description = "Text after the boot menu entry's name."; };
    squashfsCompression = mkOption { type = types.enum [ "zstd" "xz" "gzip" ]; default = "zstd"; description = "The compression of the live root's squashfs image."; };
    bootEntries = mkOption {
      type = types.listOf (types.submodule entryOpts);
      example = lib.literalExpression ''[ { name = "copytoram"; label = "kiln (copy to RAM)"; kernelParams = [ "copytoram" ]; } ]'';
      description = ''
        The boot menu's entries, for BIOS (isolinux) and UEFI (systemd-boot) alike; the first is
        the default. kiln puts three first (`lib.mkBefore`): the default, whose kernel console is the
        screen with a copy of its messages and a login on the serial port `ttyS0`; `nomodeset`, which
        keeps the kernel's graphics drivers from setting modes (a machine whose screen stays black);
        and `serial`, whose console is `ttyS0` at 115200 baud (systemd's messages and rescue shell
        there). Entries a profile adds come after them; `lib.mkForce` replaces the list.
      '';
    };
    contents = mkOption {
      type = types.listOf (types.submodule {
        options.source = mkOption { type = types.path; description = "The file or directory to copy."; };
        options.target = mkOption { type = types.str; description = "Where it goes on the ISO."; };
      });
      default = [ ];
      description = "Extra files on the ISO.";
    };
  };

  config.isoImage.bootEntries = lib.mkBefore [
    { name = "default"; label = menuLabel; kernelParams = [ "console=ttyS0,115200" "console=tty0" ]; }
    { name = "nomodeset"; label = "${menuLabel} (nomodeset)"; kernelParams = [ "console=ttyS0,115200" "console=tty0" "nomodeset" ]; }
    { name = "serial"; label = "${menuLabel} (serial console=ttyS0,115200)"; kernelParams = [ "console=tty0" "console=ttyS0,115200" ]; }
  ];

  # Debian signs its kernel's modules; an out-of-tree one built by kiln is signed only with
  # `boot.moduleSigning`'s key, and the kernel in Secure Boot's lockdown refuses it unsigned.
  config.warnings = lib.optional (cfg.secureBoot && config.boot.extraModulePackages != [ ] && config.boot.moduleSigning.key == null)
    "isoImage.secureBoot: with Secure Boot on, the kernel refuses the unsigned out-of-tree module(s) ${
      concatStringsSep ", " (map (p: p.name or "?") config.boot.extraModulePackages)
    }: set boot.moduleSigning.key and .certificate to sign them (enrol the certificate with `mokutil --import`), turn Secure Boot off in the machine's firmware, or set isoImage.secureBoot = false for systemd-boot.";

  # The certificate the modules are signed with, and how to enrol it, on the medium (`/iso` in
  # the live system), as DKMS leaves its MOK certificate for `mokutil --import` on Debian.
  config.isoImage.contents = lib.optionals (signingCertificate != null) [
    { source = signingCertificate; target = "/module-signing.der"; }
    {
      source = builtins.toFile "module-signing.txt" ''
        The out-of-tree kernel modules of this image (${concatStringsSep ", " (map (p: p.name or "?") config.boot.extraModulePackages)})
        are signed with the key whose certificate is module-signing.der. With Secure Boot on, the
        kernel loads them once that certificate is enrolled. In the live system:

            sudo mokutil --import /iso/module-signing.der

        choose a one-time password, reboot, and confirm "Enroll MOK" in MokManager (blue screen).
      '';
      target = "/module-signing.txt";
    }
  ];
  config.environment.systemPackages = lib.optional (signingCertificate != null) pkgs.mokutil;

  config.assertions = [
    {
      assertion = cfg.bootEntries != [ ];
      message = "isoImage.bootEntries is empty: the boot menu needs an entry";
    }
    {
      assertion = lib.length (lib.unique (map (e: e.name) cfg.bootEntries)) == lib.length cfg.bootEntries;
      message = "isoImage.bootEntries: two entries have the same name (${concatStringsSep ", " (map (e: e.name) cfg.bootEntries)})";
    }
  ];

  config.system.build.isoImage = derivation {
    name = lib.removeSuffix ".iso" cfg.isoName;
    system = "x86_64-linux";
    builder = "iso";
    inherit (cfg) isoName volumeID;
    kernel = "${kernelPackages.kernel}/${kernelPackages.kernel.kernelFile}";
    initrd = config.system.build.initialRamdisk;
    bios = cfg.makeBiosBootable;
    efi = cfg.makeEfiBootable;
    usb = cfg.makeUsbBootable;
    isolinux = if cfg.makeBiosBootable then pkgs.isolinux else null;
    syslinux = if cfg.makeBiosBootable then pkgs.syslinux-common else null;
    systemdBoot = if cfg.makeEfiBootable && !cfg.secureBoot then pkgs.systemd-boot-efi else null;
    secureBoot = cfg.makeEfiBootable && cfg.secureBoot;
    shim = if cfg.makeEfiBootable && cfg.secureBoot then pkgs.shim-signed else null;
    shimHelpers = if cfg.makeEfiBootable && cfg.secureBoot then pkgs.shim-helpers-amd64-signed else null;
    grub = if cfg.makeEfiBootable && cfg.secureBoot then pkgs.grub-efi-amd64-signed else null;
    # The menu, first entry the default: `[{ name; label; params; }]`, each with its whole command line.
    menuTitle = menuLabel;
    bootEntries = builtins.toJSON (map (e: {
      inherit (e) name label;
      params = concatStringsSep " " (config.boot.kernelParams ++ e.kernelParams);
    }) cfg.bootEntries);
    timeout = if config.boot.loader.timeout == null then "" else toString config.boot.loader.timeout;
    # The live root's layers, at `/live/<name>.squashfs`.
    layers = builtins.toJSON config.system.build.liveLayers;
    # Paths in `contents` are added to the store by content: `toJSON` of a path value is its
    # store path, so the ISO's key covers the files' bytes.
    contents = builtins.toJSON cfg.contents;
    # Copied beside the ISO as `<name>.manifest.json`, and the SPDX SBOM `<name>.spdx.json` made
    # from it and the ISO's hash.
    packageManifest = config.system.build.packageManifest;
    SOURCE_DATE_EPOCH = config.system.sourceDateEpoch;
  };

  # The image's Debian packages with their sources, licences and lock entries (`manifest.json`),
  # without building the image: what `kiln diff PROFILE` builds.
  config.system.build.packageManifest = let
    # Every Debian package whose bytes reach the image, with how (kiln-debian's `manifest.rs`
    # lists the parts), read from the derivations that put them there. Build-only inputs (the
    # compiler and headers an out-of-tree module is built with, kmod's depmod, fakeroot) reach
    # nothing and are left out; an out-of-tree module counts as its Debian source package.
    debian = p: p ? lockEntry;
    item = part: p: { inherit part; tree = p; lock = p.lockEntry; };
    moduleTrees = config.system.build.kernelModules.moduleTrees;
    imagePackages =
      # A package that is no lock entry (a profile's own unpacked tree) has no archive, hash or
      # copyright file the manifest could vouch for; it is left out.
      map (item "base") (lib.filter debian config.system.build.basePackages)
      ++ map (item "kernel") (lib.filter debian moduleTrees)
      ++ map (m: item "module-source" m.src) (lib.filter (m: !(debian m) && m ? src && debian m.src) moduleTrees)
      ++ map (item "initrd") (lib.filter debian [ config.system.build.initialRamdisk.busybox ])
      ++ map (item "boot-loader") (lib.filter (p: p != null && debian p)
        (with config.system.build.isoImage; [ isolinux syslinux systemdBoot shim shimHelpers grub ]));
  in derivation {
    name = "package-manifest-${lib.removeSuffix ".iso" cfg.isoName}";
    system = "x86_64-linux";
    builder = "package-manifest";
    packages = builtins.toJSON imagePackages;
  };
}
