# `config.system.build.netboot`: the live system for a network boot, like NixOS's `netboot` and
# `netbootRamdisk` in one derivation. Its output holds `bzImage`, `initrd` and `netboot.ipxe`, an
# iPXE script that boots the two from wherever the script itself was fetched (TFTP or HTTP), and
# for UEFI (Secure Boot too) Debian's signed chain: `bootx64.efi` (shim, the DHCP boot file for UEFI
# clients), `grubx64.efi` (Debian's network GRUB) and `grub/grub.cfg`, served from a TFTP root.
#
# The live root's squashfs layers ride in the initrd (`netboot.squashfs = "initrd"`, the default:
# one download, and the RAM to hold it) or stage 1 fetches them over HTTP (`"http"`) from
# `netboot.squashfsUrl`, where a web server serves the output's `live/` directory.
{ config, lib, pkgs, ... }:
let
  inherit (lib) concatStringsSep mkOption types;
  cfg = config.netboot;
  kernelPackages = config.boot.kernelPackages;
  stage1 = config.system.build.initialRamdisk;
  # Stage 1 fetching over HTTP needs the network card's driver, which an ISO's initrd lacks.
  initrd =
    if cfg.squashfs == "http" then
      derivation (stage1.drvAttrs // {
        name = "initrd-netboot-${kernelPackages.modDirVersion}";
        modules = stage1.drvAttrs.modules ++ cfg.networkModules;
      })
    else stage1;
in
{
  options.netboot = {
    squashfs = mkOption {
      type = types.enum [ "initrd" "http" ];
      default = "initrd";
      description = ''
        Where the live root comes from: `"initrd"` puts its squashfs layers into the initrd (after
        the stage-1 archive, uncompressed), `"http"` has stage 1 fetch them from
        `netboot.squashfsUrl` into memory after DHCP.
      '';
    };
    squashfsUrl = mkOption {
      type = types.nullOr types.str;
      default = null;
      example = "http://192.168.1.10/kiln/live";
      description = ''
        The directory stage 1 fetches `<layer>.squashfs` from when `netboot.squashfs` is `"http"`:
        the netboot output's `live/`, served by any web server. It becomes `kiln.live=` on the
        kernel command line, which an iPXE menu may change. busybox's `wget` fetches it: `http://`,
        with an IP address unless the DHCP server hands out a name server.
      '';
    };
    networkModules = mkOption {
      type = types.listOf types.str;
      default = [ "e1000" "e1000e" "igb" "igc" "ixgbe" "r8169" "tg3" "bnx2" "virtio_net" "vmxnet3" ];
      description = "Network card drivers the initrd carries when it fetches the live root over HTTP; the hardware present picks which load.";
    };
    kernelParams = mkOption {
      type = types.listOf types.str;
      default = (lib.head config.isoImage.bootEntries).kernelParams;
      defaultText = lib.literalExpression "(lib.head config.isoImage.bootEntries).kernelParams";
      description = "Kernel parameters the iPXE script adds to `boot.kernelParams`.";
    };
  };

  config.assertions = [
    {
      assertion = cfg.squashfs != "http" || cfg.squashfsUrl != null;
      message = "netboot.squashfs is \"http\" but netboot.squashfsUrl is not set: stage 1 would not know where to fetch the live root from";
    }
  ];

  config.system.build.netboot = derivation {
    name = "netboot-${config.networking.hostName}";
    system = "x86_64-linux";
    builder = "netboot";
    kernel = "${kernelPackages.kernel}/${kernelPackages.kernel.kernelFile}";
    inherit initrd;
    inherit (cfg) squashfs;
    params = concatStringsSep " " (config.boot.kernelParams ++ cfg.kernelParams
      ++ lib.optional (cfg.squashfs == "http") "kiln.live=${cfg.squashfsUrl}");
    layers = builtins.toJSON config.system.build.liveLayers;
    shim = pkgs.shim-signed;
    grub = pkgs.grub-efi-amd64-signed;
    label = "kiln netboot (${config.networking.hostName})";
    timeout = if config.boot.loader.timeout == null then "" else toString config.boot.loader.timeout;
    SOURCE_DATE_EPOCH = config.system.sourceDateEpoch;
  };
}
