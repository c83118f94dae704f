# Bad input: an initrd module no module tree provides (a typo of `cfg80211`); the initrd step
# fails naming it and the closest modules, and nothing is linked.
{
  imports = [ ../macbook-test.nix ];
  boot.initrd.kernelModules = [ "cfg80221" ];
}
