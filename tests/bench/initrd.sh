#!/usr/bin/env bash
# Benchmark: kiln's initrd writer (release build of the `initrd_bench` example: walk the tree,
# newc, zstd on all cores, temp file + rename) against the reference pipeline
# `find . | cpio -o -H newc | zstd -T0` on the same tree. Prints times, sizes and ratios.
# Usage: tests/bench/initrd.sh [DIR] [RUNS]   (default /usr/lib/gcc, best of 5 runs)
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
tree="${1:-/usr/lib/gcc}"
runs="${2:-5}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

for tool in cpio zstd; do
    command -v "$tool" >/dev/null || { echo "$tool not found (apt-get install $tool)" >&2; exit 1; }
done
(cd "$root" && cargo build --release -q -p kiln-image --example initrd_bench)
bench="$root/target/release/examples/initrd_bench"

best() { python3 -c 'import sys; print("%.3f" % min(map(float, sys.argv[1:])))' "$@"; }
# `/usr/bin/time` gives elapsed and CPU (user + system) seconds; CPU time is the steadier figure
# on a shared machine.
timed() { /usr/bin/time -f "%e %U %S" -o "$work/time" "$@"; read -r e u s <"$work/time"; echo "$e $(python3 -c "print($u + $s)")"; }
command -v /usr/bin/time >/dev/null || { echo "/usr/bin/time not found (apt-get install time)" >&2; exit 1; }

# Warm the page cache so both sides read from memory.
find "$tree" -type f -exec cat {} + >/dev/null 2>&1 || true

kiln_wall=(); kiln_cpu=(); ref_wall=(); ref_cpu=()
for _ in $(seq "$runs"); do
    read -r e c < <(timed "$bench" "$tree" "$work/kiln.zst" 2>/dev/null)
    kiln_wall+=("$e"); kiln_cpu+=("$c")
    read -r e c < <(cd "$tree" && timed sh -c "find . | cpio -o -H newc --quiet | zstd -T0 -q -c >'$work/ref.zst'")
    ref_wall+=("$e"); ref_cpu+=("$c")
done

kw=$(best "${kiln_wall[@]}"); kc=$(best "${kiln_cpu[@]}")
rw=$(best "${ref_wall[@]}"); rc=$(best "${ref_cpu[@]}")
kiln_size=$(stat -c %s "$work/kiln.zst")
ref_size=$(stat -c %s "$work/ref.zst")
echo "tree:      $tree ($(du -sh "$tree" | cut -f1), $(find "$tree" | wc -l) entries), $(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg)"
echo "kiln:      ${kw} s elapsed, ${kc} s CPU, ${kiln_size} bytes  (best of $runs)"
echo "reference: ${rw} s elapsed, ${rc} s CPU, ${ref_size} bytes  (find | cpio -o -H newc | zstd -T0)"
python3 -c "print('kiln/reference: elapsed %.2f, CPU %.2f, size %.3f' % ($kw / $rw, $kc / $rc, $kiln_size / $ref_size))"
