#!/usr/bin/env bash
# Benchmark: kiln's initrd writer (release build of the `initrd_bench` example: walk the tree,
# newc, zstd on all cores, temp file + rename) against the reference pipeline
# `find . | cpio -o -H newc | zstd -T0` on the same tree. Prints times, sizes and ratios.
# Usage: tests/bench/initrd.sh [DIR] [RUNS]   (default /usr/lib/gcc, best of 3 runs)
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
tree="${1:-/usr/lib/gcc}"
runs="${2:-3}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

for tool in cpio zstd; do
    command -v "$tool" >/dev/null || { echo "$tool not found (apt-get install $tool)" >&2; exit 1; }
done
(cd "$root" && cargo build --release -q -p kiln-image --example initrd_bench)
bench="$root/target/release/examples/initrd_bench"

now() { date +%s.%N; }
best() { python3 -c 'import sys; print("%.3f" % min(map(float, sys.argv[1:])))' "$@"; }

# Warm the page cache so both sides read from memory.
find "$tree" -type f -exec cat {} + >/dev/null 2>&1 || true

kiln_times=()
ref_times=()
for _ in $(seq "$runs"); do
    t0=$(now)
    "$bench" "$tree" "$work/kiln.zst" 2>/dev/null
    t1=$(now)
    (cd "$tree" && find . | cpio -o -H newc --quiet | zstd -T0 -q -c >"$work/ref.zst")
    t2=$(now)
    kiln_times+=("$(python3 -c "print($t1 - $t0)")")
    ref_times+=("$(python3 -c "print($t2 - $t1)")")
done

kiln_s=$(best "${kiln_times[@]}")
ref_s=$(best "${ref_times[@]}")
kiln_size=$(stat -c %s "$work/kiln.zst")
ref_size=$(stat -c %s "$work/ref.zst")
echo "tree:      $tree ($(du -sh "$tree" | cut -f1), $(find "$tree" | wc -l) entries), $(nproc) cores"
echo "kiln:      ${kiln_s} s, ${kiln_size} bytes"
echo "reference: ${ref_s} s, ${ref_size} bytes  (find | cpio -o -H newc | zstd -T0)"
python3 -c "print('time ratio kiln/reference: %.2f, size ratio: %.3f' % ($kiln_s / $ref_s, $kiln_size / $ref_size))"
