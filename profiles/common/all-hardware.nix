# Kernel modules for the hardware a live medium may meet: storage controllers, USB, virtual machines.
# Imported by the installer base, like NixOS's `profiles/all-hardware.nix`.
{ ... }:
{
  boot.initrd.availableKernelModules = [
    "nvme" "virtio_pci" "virtio_blk" "virtio_scsi" "virtio_net" "uas" "usb_storage" "sdhci_pci"
    "ext4" "vfat" "nls_cp437" "nls_iso8859-1"
  ];
}
