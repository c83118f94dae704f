# The option declarations every kiln system is evaluated with, like `nixos/modules/module-list.nix`.
# `eval-config.nix` puts these in front of the user's profile; profiles never import them themselves.
[
  ./system/boot/kernel.nix
  ./system/boot/initrd.nix
  ./system/boot/stage-1.nix
  ./system/live-root.nix
  ./system/etc.nix
  ./system/systemd.nix
  ./system/boot/loader.nix
  ./system/build.nix
  ./misc/assertions.nix
  ./hardware/firmware.nix
  ./hardware/graphics.nix
  ./config/system-path.nix
  ./config/networking.nix
  ./config/users-groups.nix
  ./config/i18n.nix
  ./config/fonts.nix
  ./security/polkit.nix
  ./tasks/filesystems.nix
  ./installer/cd-dvd/iso-image.nix
  ./installer/netboot/netboot.nix
  ./services/openssh.nix
  ./services/x11/xserver.nix
  ./services/x11/display-managers.nix
  ./services/x11/gnome.nix
]
