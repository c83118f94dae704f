#!/usr/bin/env bash
# Live-root benchmark (issue 7): unpack a profile's Debian closure and pack it as squashfs.
#   kiln:      `kiln build --offline -A config.system.build.squashfs PROFILE` into a store that
#              holds the fetched .debs but nothing unpacked (unpack-deb steps in parallel, the
#              hard-linked rootfs merge, the squashfs writer)
#   reference: `dpkg-deb -x` of each of the same .debs into one tree + `mksquashfs -comp zstd`
# Both start from the same .deb files on disk; prints times, sizes and the ratio.
#
#   tests/bench/rootfs.sh [PROFILE]   (default: the minimal installer)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
profile=${1:-$root/profiles/installer/cd-dvd/installation-cd-minimal.nix}
for tool in dpkg-deb mksquashfs /usr/bin/time; do
  command -v "$tool" >/dev/null || { echo "$tool missing (apt-get install dpkg squashfs-tools time)" >&2; exit 1; }
done
(cd "$root" && cargo build --release -q -p kiln-cli)
kiln=$root/target/release/kiln
warm=${KILN_BENCH_STORE:-$HOME/.cache/kiln/bench-store}
work=$(mktemp -d)
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT

# Warm-up (not timed): fetch everything the squashfs needs into the bench store.
KILN_STORE=$warm "$kiln" build --no-link -A config.system.build.squashfs "$profile" >/dev/null

# A store with the downloads (and the signed index) only.
store=$work/store
mkdir -p "$store/.meta" "$store/.roots" "$store/.tmp"
for entry in "$warm"/*; do
  name=${entry##*/}
  case $name in
    *.deb|*-InRelease|*-Packages|*-names)
      cp -al "$entry" "$store/$name"
      cp "$warm/.meta/$name" "$store/.meta/$name" ;;
  esac
done
debs=$(find "$store" -maxdepth 1 -name '*.deb' | sort)
echo "closure: $(echo "$debs" | wc -l) packages, $(du -chL $debs | tail -1 | cut -f1) of .deb"
sync

/usr/bin/time -f "%e %U %S" -o "$work/kiln.time" env KILN_STORE="$store" \
  "$kiln" build --offline --no-link -A config.system.build.squashfs "$profile" >"$work/kiln.out" 2>"$work/kiln.err"
kiln_img=$(cat "$work/kiln.out")/root.squashfs

tree=$work/tree
mkdir "$tree"
/usr/bin/time -f "%e %U %S" -o "$work/ref.time" bash -c '
  for deb in '"$(echo $debs)"'; do dpkg-deb -x "$deb" "$0"; done
  mksquashfs "$0" "$1" -comp zstd -noappend -quiet >/dev/null' "$tree" "$work/ref.squashfs"

read -r ke ku ks <"$work/kiln.time"
read -r re ru rs <"$work/ref.time"
printf "kiln       %6.2f s wall  %6.2f s cpu  %s\n" "$ke" "$(echo "$ku + $ks" | bc)" "$(du -h "$kiln_img" | cut -f1)"
printf "reference  %6.2f s wall  %6.2f s cpu  %s  (dpkg-deb -x + mksquashfs -comp zstd)\n" "$re" "$(echo "$ru + $rs" | bc)" "$(du -h "$work/ref.squashfs" | cut -f1)"
echo "ratio kiln/reference (wall): $(echo "scale=2; $ke / $re" | bc)  (target <= 0.7)"
