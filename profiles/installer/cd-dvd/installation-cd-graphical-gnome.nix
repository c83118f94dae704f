# The GNOME installer ISO, as NixOS's: GDM logs the live user `kiln` into GNOME, the dock shows the
# installer's tools, and the session neither locks nor suspends while an installation runs.
{ lib, ... }:
{
  imports = [ ./installation-cd-graphical-base.nix ];

  isoImage.edition = lib.mkDefault "gnome";

  services.xserver.desktopManager.gnome = {
    enable = true;
    # Firefox and the installer's tools in the dock.
    favoriteAppsOverride = ''
      [org.gnome.shell]
      favorite-apps=[ 'firefox-esr.desktop', 'org.gnome.Console.desktop', 'org.gnome.Nautilus.desktop', 'gparted.desktop', 'org.gnome.DiskUtility.desktop' ]
    '';
    # No screen lock, blanking or suspend during an installation.
    extraGSettingsOverrides = ''
      [org.gnome.desktop.session]
      idle-delay=0

      [org.gnome.desktop.screensaver]
      lock-enabled=false

      [org.gnome.settings-daemon.plugins.power]
      sleep-inactive-ac-type='nothing'
      sleep-inactive-battery-type='nothing'
    '';
  };

  # A live system's home directory is empty: indexing it only costs CPU while the session starts.
  services.gnome.tracker-miners.enable = false;

  # GNOME turns GDM on; the live user is logged in as soon as it starts.
  services.xserver.displayManager.autoLogin = {
    enable = true;
    user = "kiln";
  };
}
