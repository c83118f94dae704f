#!/usr/bin/env bash
# Live-root benchmark (issue 14): from a profile's base-layer .debs, already downloaded, to a
# configured root packed as squashfs.
#   kiln:      `kiln build -A config.system.build.debianRoot PROFILE` in a store that holds the
#              .debs only: the unpack-deb steps (parallel), then the debian-root step (merge,
#              dpkg's preinsts, `dpkg --configure -a` and triggers in the sandbox, squashfs zstd-3)
#   reference: mmdebstrap --variant=essential with every package named, from a local mirror of
#              the very same .debs (tests/liveroot/mmdebstrap-root.sh), then
#              `mksquashfs -comp zstd -Xcompression-level 3` of its tree
# Prints both times, debian-root's own split (copy / configure / squashfs), the image sizes and
# the ratio. Needs root (mmdebstrap --mode=root), mmdebstrap, apt-utils, squashfs-tools, python3.
#
#   tests/bench/liveroot.sh [PROFILE]   (default: the minimal installer; try the GNOME one)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
profile=${1:-$root/profiles/installer/cd-dvd/installation-cd-minimal.nix}
for tool in mmdebstrap apt-ftparchive mksquashfs python3 /usr/bin/time; do
  command -v "$tool" >/dev/null || { echo "$tool missing (apt-get install mmdebstrap apt-utils squashfs-tools python3 time)" >&2; exit 1; }
done
[ "$(id -u)" -eq 0 ] || { echo "run as root: mmdebstrap --mode=root installs the reference" >&2; exit 1; }
(cd "$root" && cargo build --release -q -p kiln-cli)
kiln=$root/target/release/kiln
work=$(mktemp -d /var/tmp/kiln-liveroot.XXXXXX)
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
export KILN_STORE=$work/store

# Not timed: the downloads, into an empty store (the .debs and the signed index only).
"$kiln" build --locked --no-link -A config.system.build.baseDebs "$profile" >"$work/debs" 2>"$work/fetch.err" \
  || { cat "$work/fetch.err" >&2; exit 1; }
echo "base layer: $(wc -l <"$work/debs") packages, $(xargs du -chL <"$work/debs" | tail -1 | cut -f1) of .deb"
sync

/usr/bin/time -f "%e %U %S" -o "$work/kiln.time" \
  "$kiln" build --locked --no-link -A config.system.build.debianRoot "$profile" >"$work/kiln.out" 2>"$work/kiln.err"
kiln_img=$(cat "$work/kiln.out")/layer.squashfs
split=$(grep -o '[0-9]* packages: copied in .*' "$work/kiln.err" | tail -1)

ref=$work/ref
mkdir -p "$ref"
/usr/bin/time -f "%e %U %S" -o "$work/ref.time" \
  env KILN="$kiln" "$root/tests/liveroot/mmdebstrap-root.sh" "$profile" "$ref" >/dev/null 2>"$work/ref.err" \
  || { cat "$work/ref.err" >&2; exit 1; }
# The mirror's indexing and kiln's evaluation inside the script are not mmdebstrap's time.
mm_ms=$(cat "$ref/mmdebstrap.ms")
start=$(date +%s%N)
/usr/bin/time -f "%e %U %S" -o "$work/sq.time" \
  mksquashfs "$ref/root" "$work/ref.squashfs" -comp zstd -Xcompression-level 3 -noappend -quiet >/dev/null
sq_ms=$((($(date +%s%N) - start) / 1000000))

read -r ke ku ks <"$work/kiln.time"
read -r se su ss <"$work/sq.time"
python3 - "$ke" "$ku" "$ks" "$mm_ms" "$sq_ms" "$se" "$su" "$ss" "$(stat -c %s "$kiln_img")" \
  "$(stat -c %s "$work/ref.squashfs")" "$split" <<'EOF'
import sys
ke, ku, ks = map(float, sys.argv[1:4])
mm, sq = int(sys.argv[4]) / 1000, int(sys.argv[5]) / 1000
se, su, ss = map(float, sys.argv[6:9])
kb, rb = int(sys.argv[9]), int(sys.argv[10])
print(f"kiln unpack + debian-root:        {ke:7.1f} s wall ({ku + ks:.1f} s CPU)   [{sys.argv[11]}]")
print(f"mmdebstrap + mksquashfs (zstd 3): {mm + sq:7.1f} s wall (mmdebstrap {mm:.1f} s, mksquashfs {sq:.1f} s, {su + ss:.1f} s CPU)")
print(f"ratio (reference / kiln):         {(mm + sq) / ke:7.2f}x")
print(f"image: kiln {kb / 1e6:.1f} MB, mksquashfs {rb / 1e6:.1f} MB")
EOF
