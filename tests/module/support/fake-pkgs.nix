# A stand-in for the package set the Rust driver will provide: every Debian package the profiles name, as a
# minimal derivation-shaped set (`type`, `name`, `outPath`), plus a kernel package set.
let
  drv = name: {
    type = "derivation";
    inherit name;
    outPath = "/kiln/store/00000000000000000000000000000000-${name}";
  };
  names = [
    "busybox-static" "parted" "gdisk" "e2fsprogs" "dosfstools"
    "firmware-linux-free" "firmware-misc-nonfree" "firmware-realtek" "firmware-iwlwifi" "firmware-atheros"
    "firmware-brcm80211" "firmware-amd-graphics"
    "xserver-xorg" "xinit" "firefox-esr" "gparted"
    "gnome-shell" "gnome-session" "gdm3" "nautilus" "gnome-terminal" "gnome-control-center"
    "systemd-sysv" "systemd" "udev" "dbus" "libpam-systemd" "kmod" "iproute2" "iputils-ping" "procps"
    "less" "nano" "ca-certificates" "sudo" "tzdata" "locales" "console-setup" "keyboard-configuration" "network-manager"
    "systemd-resolved" "openssh-server"
    "gnome-settings-daemon" "gnome-keyring" "libpam-gnome-keyring" "gnome-menus" "gjs" "at-spi2-core"
    "libatk-adaptor" "dbus-user-session" "dconf-cli" "glib-networking" "gvfs" "xdg-desktop-portal-gnome"
    "xwayland" "webp-pixbuf-loader" "librsvg2-common" "adwaita-icon-theme" "network-manager-gnome"
    "gnome-console" "gnome-text-editor" "gnome-system-monitor" "gnome-disk-utility" "eog" "evince"
    "gnome-calculator" "baobab" "polkitd" "pkexec" "fonts-cantarell" "fonts-dejavu-core"
    "fonts-liberation2" "fonts-noto-color-emoji" "libgl1-mesa-dri" "libegl-mesa0" "libglx-mesa0" "libgbm1"
  ];
in
builtins.listToAttrs (map (name: { inherit name; value = drv name; }) names) // {
  requiredPackages = [ ];
  linuxPackages = {
    kernel = drv "linux-image-6.1.0-13-amd64";
    broadcom_sta = drv "broadcom-sta-6.30.223.271-linux-6.1.0-13-amd64";
  };
}
