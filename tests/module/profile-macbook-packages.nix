# The macbook profile's packages by name: GNOME's come from `services.xserver.desktopManager.gnome.enable`,
# the firmware (with `firmware-brcm80211`) from `hardware.enableRedistributableFirmware`.
let
  config = (import ./support/eval-profile.nix ../../profiles/installer/cd-dvd/installation-cd-graphical-gnome-macbook.nix).config;
  names = map (p: p.name);
in
{
  systemPackages = names config.environment.systemPackages;
  firmware = names config.hardware.firmware;
  kernel = config.boot.kernelPackages.kernel.name;
  hasBrcm = builtins.elem "firmware-brcm80211" (names config.hardware.firmware);
}
