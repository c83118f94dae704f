#!/usr/bin/env bash
# Benchmark: kiln's squashfs writer (release build of the `squashfs` example: walk the tree,
# backhand's v4 writer fed by blocks compressed ahead on all cores, zstd level 3, temp file +
# rename) against `mksquashfs TREE OUT -comp zstd -noappend -quiet` (zstd level 15, all cores)
# on the same tree, and, for a like-for-like size comparison, mksquashfs at kiln's zstd level 3.
# Prints times, sizes and ratios kiln/mksquashfs (target from the live-root issue: <= 0.7).
# Usage: tests/bench/squashfs.sh [TREE] [RUNS]   (default /usr/share, best of 3 runs)
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
tree="${1:-/usr/share}"
runs="${2:-3}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

command -v mksquashfs >/dev/null || { echo "mksquashfs not found (apt-get install squashfs-tools)" >&2; exit 1; }
command -v /usr/bin/time >/dev/null || { echo "/usr/bin/time not found (apt-get install time)" >&2; exit 1; }
(cd "$root" && cargo build --release -q -p kiln-image --example squashfs)
bench="$root/target/release/examples/squashfs"

best() { python3 -c 'import sys; print("%.3f" % min(map(float, sys.argv[1:])))' "$@"; }
# `/usr/bin/time` gives elapsed and CPU (user + system) seconds; CPU time is the steadier figure
# on a shared machine.
timed() { /usr/bin/time -f "%e %U %S" -o "$work/time" "$@" >/dev/null 2>&1; read -r e u s <"$work/time"; echo "$e $(python3 -c "print($u + $s)")"; }

# Warm the page cache so every side reads from memory.
find "$tree" -type f -exec cat {} + >/dev/null 2>&1 || true

kiln_wall=(); kiln_cpu=(); ref_wall=(); ref_cpu=(); ref3_wall=(); ref3_cpu=()
for _ in $(seq "$runs"); do
    read -r e c < <(timed "$bench" "$tree" "$work/kiln.sqfs" zstd)
    kiln_wall+=("$e"); kiln_cpu+=("$c")
    read -r e c < <(timed mksquashfs "$tree" "$work/ref.sqfs" -comp zstd -noappend -quiet -no-progress)
    ref_wall+=("$e"); ref_cpu+=("$c")
    read -r e c < <(timed mksquashfs "$tree" "$work/ref3.sqfs" -comp zstd -Xcompression-level 3 -noappend -quiet -no-progress)
    ref3_wall+=("$e"); ref3_cpu+=("$c")
done

kw=$(best "${kiln_wall[@]}"); kc=$(best "${kiln_cpu[@]}")
rw=$(best "${ref_wall[@]}"); rc=$(best "${ref_cpu[@]}")
r3w=$(best "${ref3_wall[@]}"); r3c=$(best "${ref3_cpu[@]}")
kiln_size=$(stat -c %s "$work/kiln.sqfs")
ref_size=$(stat -c %s "$work/ref.sqfs")
ref3_size=$(stat -c %s "$work/ref3.sqfs")
echo "tree:             $tree ($(du -sh "$tree" | cut -f1), $(find "$tree" | wc -l) entries), $(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg)"
echo "kiln:             ${kw} s elapsed, ${kc} s CPU, ${kiln_size} bytes  (best of $runs, zstd 3, all cores)"
echo "mksquashfs:       ${rw} s elapsed, ${rc} s CPU, ${ref_size} bytes  (-comp zstd: level 15, all cores)"
echo "mksquashfs -Xcl3: ${r3w} s elapsed, ${r3c} s CPU, ${ref3_size} bytes  (-comp zstd -Xcompression-level 3)"
python3 -c "print('kiln/mksquashfs:          elapsed %.2f, CPU %.2f, size %.3f' % ($kw / $rw, $kc / $rc, $kiln_size / $ref_size))"
python3 -c "print('kiln/mksquashfs level 3:  elapsed %.2f, CPU %.2f, size %.3f' % ($kw / $r3w, $kc / $r3c, $kiln_size / $ref3_size))"
