#!/usr/bin/env bash
# Module-system benchmarks (issues 4 and 17): kiln (release) and nix-instantiate 2.8 in one run, on
#   - tests/bench/modules/nixos-like.nix: a NixOS-style module set of 200, 2 000 and 20 000 options with
#     20 definitions each (mkDefault, mkForce, mkOverride, mkIf, mkMerge, mkBefore/mkAfter, lines,
#     attrsOf int, attrsOf (submodule ...)), with kiln's lib, which nix 2.8 runs too;
#   - tests/bench/modules/submodules.nix: attrsOf (submodule ...) with 100 modules of 60 entries each;
#   - tests/module/bench/synthetic.nix: 2000 options, 10000 definitions (issue 4);
#   - each installer profile's `config` minus `system.build`, `--strict --json`
#     (tests/bench/modules/profile-config.nix, with the test package set on both sides);
#   - kiln alone: `kiln eval --json -A config.boot.kernelModules PROFILE` (its own profile door).
# Prints CPU milliseconds (user + system, best of N, from rusage; see measure.py) and peak RSS (KiB,
# the largest of the runs) with kiln/nix ratios, and checks issue 4's target: the macbook profile's
# config in under 50 ms.
#
# Usage: tests/bench/modules.sh [runs]
#   KILN_BEFORE=PATH   also run this kiln binary (an older build) and print its figures and ratios
#   SIZES="200 2000"   the sizes of nixos-like.nix (default: 200 2000 20000; 20000 runs once)
#   KILN_BEFORE_LIB=DIR  also run nixos-like.nix and submodules.nix with this library (an older
#                      version of kiln's lib) on every evaluator, in rows of their own
#   NIXPKGS_LIB=DIR    the same with nixpkgs' `lib` (not on this machine; any lib with its API works)
set -euo pipefail
cd "$(dirname "$0")/../.."
runs=${1:-5}
cargo build --release -q -p kiln-cli
kiln=target/release/kiln
before=${KILN_BEFORE:-}
nix=${NIX_INSTANTIATE:-nix-instantiate}
sizes=${SIZES:-200 2000 20000}

measure() { # measure RUNS COMMAND...: prints "cpu_ms wall_ms kib", or "fail"
    local n=$1
    shift
    "$@" >/dev/null 2>&1 || { echo "fail - -"; return; }
    python3 tests/bench/measure.py "$n" "$@"
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (b <= 0 || a == "fail" || b == "fail") print "-"; else printf "%.2f", a / b }'; }

header() {
    if [ -n "$before" ]; then
        printf '%-40s %9s %9s %9s %6s %6s %10s %10s %10s %6s\n' case kiln_ms before_ms nix_ms ratio r_befr \
            kiln_KiB before_KiB nix_KiB ratio
    else
        printf '%-40s %9s %9s %6s %10s %10s %6s\n' case kiln_ms nix_ms ratio kiln_KiB nix_KiB ratio
    fi
}

row() { # row NAME RUNS ARGS... : the same arguments after `kiln eval` and `nix-instantiate --eval`
    local name=$1 n=$2
    shift 2
    read -r kc _ km <<<"$(measure "$n" "$kiln" eval "$@")"
    read -r nc _ nm <<<"$(measure "$n" "$nix" --eval "$@")"
    if [ -n "$before" ]; then
        read -r bc _ bm <<<"$(measure "$n" "$before" eval "$@")"
        printf '%-40s %9s %9s %9s %6s %6s %10s %10s %10s %6s\n' "$name" "$kc" "$bc" "$nc" \
            "$(ratio "$kc" "$nc")" "$(ratio "$bc" "$nc")" "$km" "$bm" "$nm" "$(ratio "$km" "$nm")"
    else
        printf '%-40s %9s %9s %6s %10s %10s %6s\n' "$name" "$kc" "$nc" "$(ratio "$kc" "$nc")" \
            "$km" "$nm" "$(ratio "$km" "$nm")"
    fi
}

echo "CPU ms (user + system, best of $runs; 20000 options: 1 run), peak RSS KiB; load: $(cut -d' ' -f1-3 /proc/loadavg)"
header
# The library rows: this tree's lib, then the optional others ("label=dir").
libs=("")
[ -n "${KILN_BEFORE_LIB:-}" ] && libs+=("older lib=$KILN_BEFORE_LIB")
[ -n "${NIXPKGS_LIB:-}" ] && libs+=("nixpkgs lib=$NIXPKGS_LIB")
for lib in "${libs[@]}"; do
    label="" libarg=()
    if [ -n "$lib" ]; then
        label=", ${lib%%=*}"
        libarg=(--arg lib "import ${lib#*=}")
    fi
    for n in $sizes; do
        r=$runs
        [ "$n" -ge 20000 ] && r=1
        row "nixos-like $n options$label" "$r" --strict tests/bench/modules/nixos-like.nix --arg n "$n" "${libarg[@]}"
    done
    row "attrsOf submodule 100x60$label" "$runs" --strict tests/bench/modules/submodules.nix --arg modules 100 "${libarg[@]}"
done
row synthetic "$runs" --strict tests/module/bench/synthetic.nix
for profile in profiles/installer/cd-dvd/*.nix; do
    row "$(basename "$profile" .nix)" "$runs" --strict --json tests/bench/modules/profile-config.nix \
        --arg profile "$PWD/$profile"
done

echo
macbook=profiles/installer/cd-dvd/installation-cd-graphical-gnome-macbook.nix
read -r kc kw km <<<"$(measure "$runs" "$kiln" eval --json -A config.boot.kernelModules "$macbook")"
printf 'kiln eval --json -A config.boot.kernelModules macbook: %s ms CPU, %s ms wall, %s KiB\n' "$kc" "$kw" "$km"
read -r kc kw _ <<<"$(measure 20 "$kiln" eval --strict --json tests/bench/modules/profile-config.nix --arg profile "$PWD/$macbook")"
read -r nc nw _ <<<"$(measure 20 "$nix" --eval --strict --json tests/bench/modules/profile-config.nix --arg profile "$PWD/$macbook")"
verdict() { awk -v x="$1" 'BEGIN{ if (x < 50) print "meets"; else print "misses" }'; }
printf 'target: macbook config --strict --json (minus system.build), best of 20:\n'
printf '  kiln %s ms wall (%s the 50 ms target), %s ms CPU; nix-instantiate %s ms wall, %s ms CPU\n' \
    "$kw" "$(verdict "$kw")" "$kc" "$nw" "$nc"
