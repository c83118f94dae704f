# Declares `boot.moduleSigning`: a key that signs the out-of-tree modules of
# `boot.extraModulePackages` (Broadcom's `wl`), so a kernel in Secure Boot's lockdown loads them once
# the certificate is enrolled, as DKMS signs with its MOK key on Debian. The signed packages are
# `system.build.signedModulePackages`, what `system.build.kernelModules` merges.
{ config, lib, ... }:
let
  inherit (lib) mkOption types;
  cfg = config.boot.moduleSigning;
  kernelPackages = config.boot.kernelPackages;
  # By content, under a fixed name: the key's store path does not depend on where it lies.
  toStore = name: p: builtins.path { path = p; inherit name; };
  sign = p: derivation {
    name = "${p.name}-signed";
    system = "x86_64-linux";
    builder = "sign-modules";
    modules = p;
    root = kernelPackages.kbuildRoot;
    key = toStore "module-signing.key" cfg.key;
    certificate = toStore "module-signing.crt" cfg.certificate;
    inherit (cfg) hashAlgorithm;
    inherit (kernelPackages) modDirVersion;
  } // lib.optionalAttrs (p ? src) { inherit (p) src; };
  signed = map sign config.boot.extraModulePackages;
in
{
  options.boot.moduleSigning = {
    key = mkOption {
      type = types.nullOr types.path;
      default = null;
      example = lib.literalExpression "./keys/module-signing.key";
      description = ''
        The RSA private key (PEM, unencrypted) that signs the modules of
        `boot.extraModulePackages`, with the kernel's own `sign-file` in the build sandbox. It is
        added to the store by content (like every path a derivation names) and reaches no image:
        the ISO carries only the certificate. Keep it out of shared caches. An RSA key keeps
        the build reproducible; kiln refuses EC keys, whose signatures are randomised.
      '';
    };
    certificate = mkOption {
      type = types.nullOr types.path;
      default = null;
      example = lib.literalExpression "./keys/module-signing.crt";
      description = ''
        The key's X.509 certificate (PEM or DER). The ISO carries it as `/module-signing.der`
        with `/module-signing.txt`, which says how to enrol it: `mokutil --import
        /iso/module-signing.der` in the live system (mokutil is installed when Secure Boot is on),
        then MokManager at the next boot; or into the firmware's `db`.
      '';
    };
    hashAlgorithm = mkOption {
      type = types.enum [ "sha256" "sha384" "sha512" ];
      default = "sha256";
      description = "The digest the signatures use.";
    };
  };

  options.boot.moduleSigning.certificateDer = mkOption {
    type = types.nullOr types.str;
    internal = true;
    readOnly = true;
    description = "The certificate in DER, in the store (null without a key or without out-of-tree modules).";
  };

  config = {
    system.build.signedModulePackages =
      if cfg.key == null then config.boot.extraModulePackages else signed;
    boot.moduleSigning.certificateDer =
      if cfg.key == null || signed == [ ] then null
      else "${lib.head signed}/share/kiln/module-signing.der";
    assertions = [
      {
        assertion = (cfg.key == null) == (cfg.certificate == null);
        message = "boot.moduleSigning: `key` and `certificate` go together (set both, or neither)";
      }
    ];
  };
}
