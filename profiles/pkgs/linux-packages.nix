# `pkgs.linuxPackages`: Debian bookworm's default kernel (the one the `linux-image-amd64`
# metapackage depends on), its headers, and modules built against them.
{ pkgs, lib }:
let
  inherit (lib) findFirst hasPrefix removePrefix removeSuffix filter;
  meta = pkgs.linux-image-amd64;
  # `linux-image-6.1.0-28-amd64`: the real kernel package behind the metapackage.
  imageName = findFirst (n: hasPrefix "linux-image-" n && n != "linux-image-amd64") null meta.depends;
  modDirVersion =
    if imageName == null
    then throw "linux-image-amd64 depends on no linux-image-<abi>-amd64 package"
    else removePrefix "linux-image-" imageName;
  headersName = "linux-headers-${modDirVersion}";
  self = {
    inherit modDirVersion;
    kernel = pkgs.${imageName} // {
      inherit modDirVersion;
      # Paths inside the package.
      kernelFile = "boot/vmlinuz-${modDirVersion}";
      modulesDir = "lib/modules/${modDirVersion}";
    };
    # The `-amd64` headers, the shared `-common` tree and the kbuild tools they need.
    headers = [ pkgs.${headersName} ]
      ++ map (n: pkgs.${n}) (filter (n: hasPrefix "linux-headers-" n || hasPrefix "linux-kbuild-" n) pkgs.${headersName}.depends);

    # Broadcom's `wl` WiFi driver, built from broadcom-sta-dkms's source against the headers with
    # the host's gcc and make (see kiln-builders' kbuild builder). The output also carries the
    # package's `/etc/modprobe.d` blacklist of the drivers `wl` competes with (b43, bcma, ssb,
    # brcmsmac, ...), which the initrd and the live root take from `boot.extraModulePackages`.
    broadcom_sta = derivation {
      name = "broadcom-sta-${removeSuffix "-amd64" modDirVersion}";
      system = "x86_64-linux";
      builder = "kbuild-module";
      src = pkgs.broadcom-sta-dkms;
      headers = self.headers;
      inherit modDirVersion;
      # A package set has no profile to ask: the time nixpkgs' stdenv fixes (1980-01-01).
      SOURCE_DATE_EPOCH = 315532800;
    };
  };
in
self
