#!/usr/bin/env bash
# Runs kiln (release) and nix-instantiate 2.8 side by side on the same files and prints time
# (CPU milliseconds, user + system, best of N runs; and the wall milliseconds of that run) and
# peak RSS (KiB, largest of the runs) with kiln/nix ratios. CPU time is the fairer measure on a
# shared machine.
#
# Usage: tests/bench/eval.sh [runs]
#   KILN_BEFORE=PATH   also run this kiln binary (an older build) and print its figures and ratios
#   CASES="fib json"   only these cases (default: all of them)
set -euo pipefail
cd "$(dirname "$0")/../.."
runs=${1:-3}
cargo build --release -q -p kiln-cli
kiln=target/release/kiln
before=${KILN_BEFORE:-}
dir=tests/bench/eval
# A deep import chain: chain/f0.nix imports f1.nix ... f999.nix.
chain=$(mktemp -d)
trap 'rm -rf "$chain"' EXIT
for i in $(seq 0 999); do echo "(import ./f$((i + 1)).nix) + 1" > "$chain/f$i.nix"; done
echo 0 > "$chain/f1000.nix"
cases=${CASES:-fib attrs-merge string-build sort chain strings-600k strings-join strings-match regex json}

# best of $runs by CPU time, in milliseconds (see measure.py): prints "cpu_ms wall_ms kib"
measure() { python3 tests/bench/measure.py "$runs" "$@"; }

ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (b <= 0) b = 0.001; printf "%.2f", a / b }'; }

echo "CPU ms (user + system, best of $runs), wall ms of that run, peak RSS KiB; load: $(cut -d' ' -f1-3 /proc/loadavg)"
if [ -n "$before" ]; then
    printf '%-13s %8s %9s %8s %6s %6s %9s %9s %9s %9s %6s\n' case kiln_ms before_ms nix_ms ratio r_befr \
        kiln_wall nix_wall kiln_KiB nix_KiB ratio
else
    printf '%-13s %8s %8s %6s %9s %9s %8s %8s %6s\n' case kiln_ms nix_ms ratio kiln_wall nix_wall \
        kiln_KiB nix_KiB ratio
fi
for case in $cases; do
    if [ "$case" = chain ]; then file="$chain/f0.nix"; else file="$dir/$case.nix"; fi
    if ! "$kiln" eval --strict "$file" >/dev/null 2>&1; then
        printf '%-13s kiln fails: %s\n' "$case" "$("$kiln" eval --strict "$file" 2>&1 | head -3 | tr '\n' ' ')"
        continue
    fi
    read -r kc ke km <<<"$(measure "$kiln" eval --strict "$file")"
    read -r nc ne nm <<<"$(measure nix-instantiate --eval --strict "$file")"
    if [ -n "$before" ]; then
        read -r bc _ _ <<<"$(measure "$before" eval --strict "$file")"
        printf '%-13s %8s %9s %8s %6s %6s %9s %9s %9s %9s %6s\n' "$case" "$kc" "$bc" "$nc" \
            "$(ratio "$kc" "$nc")" "$(ratio "$bc" "$nc")" "$ke" "$ne" "$km" "$nm" "$(ratio "$km" "$nm")"
    else
        printf '%-13s %8s %8s %6s %9s %9s %8s %8s %6s\n' "$case" "$kc" "$nc" "$(ratio "$kc" "$nc")" \
            "$ke" "$ne" "$km" "$nm" "$(ratio "$km" "$nm")"
    fi
done
