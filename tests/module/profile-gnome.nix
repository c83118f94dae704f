# The GNOME installer's desktop: GDM with the live user logged in automatically (its daemon.conf), the
# GSettings overrides in the base layer, NetworkManager and polkit on, and the boot menu's entries.
let
  config = (import ./support/eval-profile.nix ../../profiles/installer/cd-dvd/installation-cd-graphical-gnome.nix).config;
  dm = config.services.xserver.displayManager;
in
{
  gdm = dm.gdm.enable;
  autoLogin = dm.autoLogin;
  daemonConf = config.system.files."etc/gdm3/daemon.conf".text;
  overrides = builtins.attrNames config.system.debianRootFiles;
  networkmanager = config.networking.networkmanager.enable;
  polkitRules = config.system.files ? "etc/polkit-1/rules.d/10-kiln.rules";
  bootEntries = map (e: { inherit (e) name kernelParams; }) config.isoImage.bootEntries;
  hasPackages = map (n: builtins.elem n (map (p: p.name) config.environment.systemPackages))
    [ "gdm3" "gnome-shell" "network-manager" "network-manager-gnome" "polkitd" "libgl1-mesa-dri" "fonts-cantarell" "xwayland" "firefox-esr" ];
}
