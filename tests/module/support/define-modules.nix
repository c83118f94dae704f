# A module file that defines an option, for test cases that look at `options.X.files`.
{
  boot.kernelModules = [ "wl" "kvm-intel" ];
}
