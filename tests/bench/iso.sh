#!/usr/bin/env bash
# Compares kiln's native ISO writer (release build) with `xorriso -as mkisofs -R` on the same
# tree and prints both wall times and their ratio (target from issue 6: kiln <= 0.5x).
# Usage: tests/bench/iso.sh [TREE]   (default: a generated tree of many small and a few large files)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
tree=${1:-}
if [ -z "$tree" ]; then
  tree=$work/tree
  mkdir -p "$tree"
  cp -r /usr/share/doc "$tree/doc" 2>/dev/null || true
  cp -r /usr/share/man "$tree/man" 2>/dev/null || true
  for i in 1 2 3 4; do head -c $((64 << 20)) /dev/urandom >"$tree/large-$i.bin"; done
fi
command -v xorriso >/dev/null || { echo "xorriso missing: apt-get install xorriso" >&2; exit 1; }
(cd "$root" && cargo build --release -q -p kiln-image --example iso_from_dir)
bin=$root/target/release/examples/iso_from_dir
echo "tree: $tree ($(du -sh "$tree" | cut -f1), $(find "$tree" | wc -l) entries)"
sync
t0=$(date +%s.%N)
xorriso -as mkisofs -quiet -R -V KILN_BENCH -o "$work/xorriso.iso" "$tree" 2>/dev/null
t1=$(date +%s.%N)
"$bin" KILN_BENCH "$tree" "$work/kiln.iso"
t2=$(date +%s.%N)
ref=$(echo "$t1 - $t0" | bc -l)
kiln=$(echo "$t2 - $t1" | bc -l)
printf 'xorriso: %.3fs (%s bytes)\nkiln:    %.3fs (%s bytes)\nratio kiln/xorriso: %.2f\n' \
  "$ref" "$(stat -c %s "$work/xorriso.iso")" "$kiln" "$(stat -c %s "$work/kiln.iso")" "$(echo "$kiln / $ref" | bc -l)"
