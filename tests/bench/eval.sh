#!/usr/bin/env bash
# Runs kiln (release) and nix-instantiate 2.8 side by side on the same files and prints time
# (seconds) and peak RSS (KiB) with kiln/nix ratios. Usage: tests/bench/eval.sh [runs]
set -euo pipefail
cd "$(dirname "$0")/../.."
runs=${1:-3}
cargo build --release -q -p kiln-cli
kiln=target/release/kiln
dir=tests/bench/eval
# A deep import chain: chain/f0.nix imports f1.nix ... f999.nix.
chain=$(mktemp -d)
trap 'rm -rf "$chain"' EXIT
for i in $(seq 0 999); do echo "(import ./f$((i + 1)).nix) + 1" > "$chain/f$i.nix"; done
echo 0 > "$chain/f1000.nix"

# best of $runs: prints "seconds kib"
measure() {
    local best_t="" best_m=""
    for _ in $(seq "$runs"); do
        local out
        out=$( { /usr/bin/time -f '%e %M' "$@" >/dev/null 2>/dev/null; } 2>&1 | tail -1)
        local t=${out% *} m=${out#* }
        if [ -z "$best_t" ] || awk "BEGIN{exit !($t < $best_t)}"; then best_t=$t; best_m=$m; fi
    done
    echo "$best_t $best_m"
}

printf '%-14s %9s %9s %7s %10s %10s %7s\n' case kiln_s nix_s t_ratio kiln_KiB nix_KiB m_ratio
for case in fib attrs-merge string-build sort chain; do
    if [ "$case" = chain ]; then file="$chain/f0.nix"; else file="$dir/$case.nix"; fi
    if ! "$kiln" eval --strict "$file" >/dev/null 2>&1; then
        printf '%-14s kiln fails: %s\n' "$case" "$("$kiln" eval --strict "$file" 2>&1 | head -1)"
        continue
    fi
    read -r kt km <<<"$(measure "$kiln" eval --strict "$file")"
    read -r nt nm <<<"$(measure nix-instantiate --eval --strict "$file")"
    printf '%-14s %9s %9s %7s %10s %10s %7s\n' "$case" "$kt" "$nt" \
        "$(awk "BEGIN{printf \"%.2f\", $kt / ($nt > 0 ? $nt : 0.01)}")" "$km" "$nm" \
        "$(awk "BEGIN{printf \"%.2f\", $km / $nm}")"
done
