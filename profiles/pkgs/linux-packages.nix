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

    # The root out-of-tree modules build in: Debian's Essential packages (a shell, coreutils,
    # sed, grep: what kbuild's scripts call), the compiler the kernel was built with (bookworm's
    # `gcc-12`), make, binutils, libc's headers, patch and the kernel headers, with what they
    # depend on, merged as Debian would install them.
    kbuildRoot = derivation {
      name = "kbuild-root-${removeSuffix "-amd64" modDirVersion}";
      system = "x86_64-linux";
      builder = "package-tree";
      packages = pkgs.closureOf (pkgs.essentialPackages
        ++ map (n: pkgs.${n}) [ "gcc-12" "make" "binutils" "libc6-dev" "patch" "mawk" ] ++ self.headers);
      # The package tree is unpacked, not configured: the one alternative kbuild calls by its
      # generic name, as mawk's postinst would register it.
      symlinks = builtins.toJSON { "usr/bin/awk" = "mawk"; };
    };

    # Broadcom's `wl` WiFi driver, built from broadcom-sta-dkms's source against the headers with
    # Debian's gcc-12 in the build sandbox (see kiln-builders' kbuild builder). The output also
    # carries the package's `/etc/modprobe.d` blacklist of the drivers `wl` competes with (b43,
    # bcma, ssb, brcmsmac, ...), which the initrd and the live root take from
    # `boot.extraModulePackages`.
    broadcom_sta = derivation {
      name = "broadcom-sta-${removeSuffix "-amd64" modDirVersion}";
      system = "x86_64-linux";
      builder = "kbuild-module";
      src = pkgs.broadcom-sta-dkms;
      root = self.kbuildRoot;
      inherit modDirVersion;
      # A package set has no profile to ask: the time nixpkgs' stdenv fixes (1980-01-01).
      SOURCE_DATE_EPOCH = 315532800;
    };
  };
in
self
