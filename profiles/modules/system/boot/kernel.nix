# Declares the kernel options (`boot.kernelPackages`, `boot.kernelModules`, ...), the modules every
# system loads and the merged module tree (`system.build.kernelModules`), as NixOS's
# `system/boot/kernel.nix` does.
{ config, lib, pkgs, ... }:
let
  inherit (lib) mkOption types;
  moduleList = description: mkOption {
    type = types.listOf types.str;
    default = [ ];
    inherit description;
  };
  # A kernel package set: the kernel itself plus out-of-tree modules built against it.
  kernelPackagesType = types.mkOptionType {
    name = "kernelPackages";
    description = "Linux kernel package set";
    check = x: builtins.isAttrs x && x ? kernel;
    merge = lib.mergeEqualOption;
  };
in
{
  options.boot = {
    kernelPackages = mkOption {
      type = kernelPackagesType;
      default = pkgs.linuxPackages;
      defaultText = lib.literalExpression "pkgs.linuxPackages";
      description = "The kernel package set: Debian bookworm's kernel (`.kernel`) and modules built for it (`.broadcom_sta`).";
    };
    kernelModules = moduleList "Kernel modules loaded in the second stage of the boot process.";
    kernelParams = mkOption {
      type = types.listOf types.str;
      default = [ ];
      description = "Parameters added to the kernel command line.";
    };
    extraModulePackages = mkOption {
      type = types.listOf types.package;
      default = [ ];
      example = lib.literalExpression "[ config.boot.kernelPackages.broadcom_sta ]";
      description = "Packages of out-of-tree kernel modules to install next to the kernel's own.";
    };
    blacklistedKernelModules = moduleList "Kernel modules that are never loaded automatically (`blacklist` lines in `/etc/modprobe.d`, in the initrd and the live root).";
    extraModprobeConfig = mkOption {
      type = types.lines;
      default = "";
      example = "options snd_hda_intel power_save=1";
      description = "Lines added to `/etc/modprobe.d/kiln.conf`, in the initrd and the live root.";
    };
    modprobeConfig = mkOption {
      type = types.str;
      internal = true;
      readOnly = true;
      description = "`/etc/modprobe.d/kiln.conf`, generated from `blacklistedKernelModules` and `extraModprobeConfig`.";
    };
    initrd.kernelModules = moduleList "Kernel modules loaded by the initrd, unconditionally.";
    initrd.availableKernelModules = moduleList "Kernel modules put into the initrd, loaded only when hardware needs them.";
  };

  # The kernel's module tree merged with `extraModulePackages` (a later package's module wins;
  # signed when `boot.moduleSigning` has a key), with
  # `modules.dep` and the index the initrd and rootfs steps read: NixOS's `aggregateModules`.
  config.system.build.kernelModules = derivation {
    name = "kernel-modules-${config.boot.kernelPackages.modDirVersion}";
    system = "x86_64-linux";
    builder = "aggregate-modules";
    inherit (config.boot.kernelPackages) modDirVersion;
    moduleTrees = [ config.boot.kernelPackages.kernel ] ++ config.system.build.signedModulePackages;
  };

  config.boot.modprobeConfig = lib.concatStrings (
    map (name: "blacklist ${name}\n") config.boot.blacklistedKernelModules
  ) + config.boot.extraModprobeConfig;

  config.boot = {
    # What any machine needs to find its root file system and take keyboard input in the initrd.
    initrd.availableKernelModules = [
      "ahci" "sata_nv" "sata_via" "ata_piix" "sd_mod" "sr_mod" "mmc_block"
      "uhci_hcd" "ehci_hcd" "ehci_pci" "ohci_hcd" "xhci_hcd" "xhci_pci" "usbhid" "hid_generic" "hid_apple"
      "pcips2" "atkbd" "i8042" "rtc_cmos"
    ];
    initrd.kernelModules = [ "dm_mod" ];
    kernelModules = [ "loop" "atkbd" ];
  };
}
