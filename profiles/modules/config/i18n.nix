# Declares `time.timeZone`, `i18n.defaultLocale`, `i18n.supportedLocales` and `console.keyMap`. Debian's
# packages do the work, as Debian's installer has them do it: tzdata's zone files; the locales
# `locales`' maintainer script generates from debconf's answers; and the keyboard that
# keyboard-configuration writes to `/etc/default/keyboard` from debconf's answers, which
# console-setup loads on the consoles at boot (Debian's systemd has no systemd-vconsole-setup) and
# GDM and X read too.
{ config, lib, pkgs, ... }:
let
  inherit (lib) mkOption types mkIf mkMerge optional;
  cfg = config.i18n;
  builtinLocale = builtins.elem cfg.defaultLocale [ "C" "C.UTF-8" "POSIX" ];
  # kbd's keymap names (NixOS's) as XKB layout and variant; most are the same name.
  xkb = {
    uk = { layout = "gb"; variant = ""; };
    dvorak = { layout = "us"; variant = "dvorak"; };
    colemak = { layout = "us"; variant = "colemak"; };
    "de-latin1" = { layout = "de"; variant = ""; };
    "de-latin1-nodeadkeys" = { layout = "de"; variant = "nodeadkeys"; };
    "fr-latin1" = { layout = "fr"; variant = ""; };
    "sv-latin1" = { layout = "se"; variant = ""; };
    "dk-latin1" = { layout = "dk"; variant = ""; };
    "no-latin1" = { layout = "no"; variant = ""; };
    "fi-latin1" = { layout = "fi"; variant = ""; };
    "es-cp850" = { layout = "es"; variant = ""; };
    "jp106" = { layout = "jp"; variant = ""; };
  }.${config.console.keyMap} or { layout = config.console.keyMap; variant = ""; };
  # NixOS writes `en_US.UTF-8/UTF-8`; locale.gen wants `en_US.UTF-8 UTF-8`.
  supported = map (l: builtins.replaceStrings [ "/" ] [ " " ] l) cfg.supportedLocales;
in
{
  options.time.timeZone = mkOption {
    type = types.nullOr (types.strMatching "[A-Za-z0-9_+-]+(/[A-Za-z0-9_+-]+)*");
    default = null;
    example = "Europe/Berlin";
    description = "The time zone (a name under `/usr/share/zoneinfo`); null is UTC.";
  };

  options.i18n = {
    defaultLocale = mkOption {
      type = types.str;
      default = "en_US.UTF-8";
      example = "de_DE.UTF-8";
      description = "The system's locale (`LANG` in `/etc/default/locale`).";
    };
    supportedLocales = mkOption {
      type = types.listOf types.str;
      default = [ (cfg.defaultLocale + "/UTF-8") ];
      defaultText = lib.literalExpression ''[ (config.i18n.defaultLocale + "/UTF-8") ]'';
      example = [ "en_US.UTF-8/UTF-8" "de_DE.UTF-8/UTF-8" ];
      description = "The locales generated, as `NAME/CHARSET` (NixOS's form) or `NAME CHARSET` (locale.gen's).";
    };
  };

  options.console.keyMap = mkOption {
    type = types.strMatching "[A-Za-z0-9_.-]+";
    default = "us";
    example = "de";
    description = "The keyboard layout of the consoles (and of GDM and X), by its kbd keymap name as NixOS takes it (`de`, `fr`, `uk`, `dvorak`, ...); names that are not also XKB layouts are translated (`uk` is XKB's `gb`).";
  };

  config = mkMerge [
    {
      environment.systemPackages = [ pkgs.tzdata ];
      system.files = if config.time.timeZone == null then { } else {
        "etc/localtime".symlink = "/usr/share/zoneinfo/${config.time.timeZone}";
        "etc/timezone".text = "${config.time.timeZone}\n";
      };
    }
    (mkIf builtinLocale {
      system.files."etc/default/locale".text = "LANG=${cfg.defaultLocale}\n";
    })
    (mkIf (!builtinLocale) {
      environment.systemPackages = [ pkgs.locales ];
      system.debconfSelections = ''
        locales locales/locales_to_be_generated multiselect ${lib.concatStringsSep ", " supported}
        locales locales/default_environment_locale select ${cfg.defaultLocale}
      '';
    })
    (mkIf (config.console.keyMap != "us") {
      environment.systemPackages = [ pkgs.console-setup pkgs.keyboard-configuration ];
      system.debconfSelections = ''
        keyboard-configuration keyboard-configuration/xkb-keymap select ${xkb.layout}
        keyboard-configuration keyboard-configuration/layoutcode string ${xkb.layout}
        keyboard-configuration keyboard-configuration/variantcode string ${xkb.variant}
        keyboard-configuration keyboard-configuration/modelcode string pc105
      '';
    })
  ];
}
