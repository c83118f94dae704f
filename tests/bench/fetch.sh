#!/usr/bin/env bash
# Fetch + unpack benchmark: kiln-debian's fetch-deb/unpack-deb builders into an empty store,
# against `apt-get download` + `dpkg-deb -x` of the same packages (the macbook profile's
# Debian packages by default; pass names to override). Prints both times and the ratio.
#
#   tests/bench/fetch.sh [NAME...]
#   KILN_BENCH_JOBS=8   parallel steps for kiln (default 8: downloads are I/O-bound)
#
# broadcom-sta-dkms is not in the list, so the numbers stay comparable with earlier runs
# (it lives in `non-free`, which kiln's default components now include).
#
# apt-get download needs apt lists (`apt-get update`); without them the same URLs are
# downloaded with curl, one after another, and the script says so.
set -euo pipefail
cd "$(dirname "$0")/../.."
jobs=${KILN_BENCH_JOBS:-8}
work=$(mktemp -d)
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT

cargo build --quiet --release -p kiln-debian --example fetch
kiln=target/release/examples/fetch
index_store=${KILN_BENCH_INDEX_STORE:-$HOME/.cache/kiln/bench-index-store}

# Warm the index cache (not timed: apt's lists are not part of its time either).
"$kiln" "$index_store" "$work/warm" "$jobs" busybox-static >/dev/null

main_packages=$(find "$index_store" -maxdepth 1 -name '*-bookworm-main-amd64-Packages' | head -1)
if [ $# -gt 0 ]; then
  names=("$@")
else
  # The kernel ABI that bookworm's linux-image-amd64 points at, read from kiln's cached index.
  abi=$(awk '/^Package: /{ok=($2=="linux-image-amd64")} ok && /^Depends: /{sub(/^Depends: linux-image-/,""); sub(/-amd64.*/,""); print; exit}' "$main_packages")
  names=(linux-image-$abi-amd64 linux-headers-$abi-amd64 linux-headers-$abi-common linux-kbuild-6.1
         firmware-brcm80211 busybox-static isolinux syslinux-common systemd-boot-efi kmod)
fi
echo "packages: ${names[*]}"

echo "== kiln (jobs=$jobs) =="
out=$(/usr/bin/time -f 'cpu %U s user %S s sys (whole process, index load included)' \
  "$kiln" "$index_store" "$work/store" "$jobs" "${names[@]}" 2>&1)
echo "$out" | grep -v '^KILN_SECONDS='
kiln_s=$(echo "$out" | sed -n 's/^KILN_SECONDS=//p')

echo "== apt-get download + dpkg-deb -x =="
mkdir -p "$work/apt/debs" "$work/apt/trees"
start=$(date +%s.%N)
cpu_start=$(awk '{print $14+$15+$16+$17}' /proc/$$/stat)
if apt-cache show busybox-static >/dev/null 2>&1 \
  && (cd "$work/apt/debs" && apt-get download -qq "${names[@]}"); then
  :
else
  echo "(apt lists absent or stale: downloading the same URLs with curl instead of apt-get download)"
  rm -f "$work"/apt/debs/*.deb
  mirror=${KILN_DEBIAN_MIRROR:-http://deb.debian.org/debian}
  for name in "${names[@]}"; do
    file=$(awk -v p="$name" '/^Package: /{ok=($2==p)} ok && /^Filename: /{print $2; exit}' \
      "$index_store"/*-bookworm-*-amd64-Packages)
    curl -fsS -o "$work/apt/debs/$(basename "$file")" "$mirror/$file"
  done
fi
for deb in "$work"/apt/debs/*.deb; do
  dpkg-deb -x "$deb" "$work/apt/trees/$(basename "$deb" .deb)"
done
end=$(date +%s.%N)
cpu_end=$(awk '{print $14+$15+$16+$17}' /proc/$$/stat)
apt_s=$(echo "$end - $start" | bc -l)
printf 'apt pipeline %.3fs (cpu %.2f s user+sys)\n' "$apt_s" "$(echo "($cpu_end - $cpu_start) / $(getconf CLK_TCK)" | bc -l)"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
printf 'ratio kiln/apt = %.2f (target <= 0.5)\n' "$(echo "$kiln_s / $apt_s" | bc -l)"
