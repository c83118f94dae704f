#!/usr/bin/env bash
# Compares kiln's native ISO writer (release build) with `xorriso -as mkisofs -R` on the same
# tree and prints both wall times and their ratio (target from issue 6: kiln <= 0.5x).
# kiln build's own initrd and ISO steps against cpio+zstd and xorriso on the same trees, and the
# no-op build (issue 6's figures), are in tests/bench/build.sh.
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
bench() { # label, xorriso args..., then kiln runs with the KILN_* environment of the caller
  local label=$1; shift
  sync
  local t0 t1 t2
  t0=$(date +%s.%N)
  xorriso -as mkisofs -quiet -R -V KILN_BENCH -o "$work/xorriso.iso" "$@" "$tree" 2>/dev/null
  t1=$(date +%s.%N)
  "$bin" KILN_BENCH "$tree" "$work/kiln.iso" 2>/dev/null
  t2=$(date +%s.%N)
  local ref kiln
  ref=$(echo "$t1 - $t0" | bc -l)
  kiln=$(echo "$t2 - $t1" | bc -l)
  printf '%s\n  xorriso: %.3fs (%s bytes)\n  kiln:    %.3fs (%s bytes)\n  ratio kiln/xorriso: %.2f\n' "$label" \
    "$ref" "$(stat -c %s "$work/xorriso.iso")" "$kiln" "$(stat -c %s "$work/kiln.iso")" "$(echo "$kiln / $ref" | bc -l)"
}

bench "plain (-R -V)"

# The same tree with BIOS, UEFI and isohybrid, when isolinux is installed (apt-get install isolinux).
if [ -f /usr/lib/ISOLINUX/isolinux.bin ] && [ -z "${1:-}" ]; then
  mkdir -p "$tree/isolinux" "$tree/boot"
  cp /usr/lib/ISOLINUX/isolinux.bin "$tree/isolinux/"
  head -c $((32 << 20)) /dev/zero >"$tree/boot/efi.img"
  KILN_BIOS=isolinux/isolinux.bin KILN_EFI=boot/efi.img KILN_CATALOG=isolinux/boot.cat \
  KILN_HYBRID_MBR=/usr/lib/ISOLINUX/isohdpfx.bin \
  bench "BIOS + UEFI + isohybrid MBR/GPT" -isohybrid-mbr /usr/lib/ISOLINUX/isohdpfx.bin \
    -c isolinux/boot.cat -b isolinux/isolinux.bin -no-emul-boot -boot-load-size 4 -boot-info-table \
    -eltorito-alt-boot -e boot/efi.img -no-emul-boot -isohybrid-gpt-basdat
fi
