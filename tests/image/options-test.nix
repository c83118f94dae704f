# The boot test of the options people set (crates/kiln-cli/tests/boot.rs): the minimal installer
# with each of them given a value whose effect the test checks in the booted system.
{ lib, pkgs, ... }:
{
  imports = [ ../../profiles/installer/cd-dvd/installation-cd-minimal.nix ];

  isoImage.edition = lib.mkForce "options-test";
  boot.loader.timeout = lib.mkForce 1;
  # The installers boot UEFI through shim and GRUB; this image keeps systemd-boot's chain booted.
  isoImage.secureBoot = false;
  boot.kernelParams = [ "kiln.test=options" ];

  networking.hostName = "kiln-options";
  networking.networkmanager.enable = true;
  time.timeZone = "Europe/Berlin";
  i18n.defaultLocale = "de_DE.UTF-8";
  console.keyMap = "de";

  users.groups.testers.gid = 2345;
  users.users.alice = {
    isNormalUser = true;
    uid = 1234;
    description = "Alice Tester";
    extraGroups = [ "testers" "wheel" ];
    initialPassword = "wonderland";
    # The private half is put in /etc below, readable by the live user only, so the test can log in.
    openssh.authorizedKeys.keyFiles = [ ./options-test/id_ed25519.pub ];
  };
  users.users.svc = { isSystemUser = true; group = "svc"; };
  users.groups.svc = { };

  # wheel needs a password now; the live user keeps a rule of its own so the test can use sudo.
  security.sudo.wheelNeedsPassword = lib.mkForce true;
  security.sudo.extraConfig = "kiln ALL=(ALL:ALL) NOPASSWD: ALL\n";

  services.openssh.enable = true;
  services.openssh.settings.PasswordAuthentication = false;

  environment.etc."kiln-test/motd".text = "hello from environment.etc\n";
  environment.etc."kiln-test/sourced.conf" = { source = ./options-test/sourced.conf; mode = "0640"; group = "testers"; };
  environment.etc."kiln-test/id_ed25519" = { source = ./options-test/id_ed25519; mode = "0600"; user = "kiln"; };

  systemd.services.kiln-hello = {
    description = "kiln options test";
    wantedBy = [ "multi-user.target" ];
    after = [ "local-fs.target" ];
    environment.GREETING = "hello";
    serviceConfig = { Type = "oneshot"; RemainAfterExit = true; };
    script = ''
      echo "$GREETING from $(hostname), as $(id -un)" > /run/kiln-hello
    '';
  };
  systemd.tmpfiles.rules = [ "d /run/kiln-tmpfiles 0750 alice testers -" ];
}
