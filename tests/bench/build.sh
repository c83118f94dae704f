#!/usr/bin/env bash
# `kiln build` benchmark (issues 5 and 6), from a warm store:
#   - the initrd and ISO steps rebuilt (`kiln build --check -A …`: the step runs again from its
#     inputs in the store; the builder's own time is what --check reports), against the reference
#     pipeline on the same trees: `find | cpio -o -H newc | zstd -T0` on kiln's initrd tree, and
#     `xorriso -as mkisofs` with the same BIOS, UEFI and isohybrid options on kiln's ISO tree;
#   - a no-op `kiln build` (everything in the store): best of 5.
#
#   tests/bench/build.sh [PROFILE]   (default: the minimal installer)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
profile=${1:-$root/profiles/installer/cd-dvd/installation-cd-minimal.nix}
for tool in cpio zstd xorriso /usr/bin/time; do
  command -v "$tool" >/dev/null || { echo "$tool missing (apt-get install cpio zstd xorriso time)" >&2; exit 1; }
done
(cd "$root" && cargo build --release -q -p kiln-cli)
kiln=$root/target/release/kiln
export KILN_STORE=${KILN_BENCH_STORE:-$HOME/.cache/kiln/bench-store}
work=$(mktemp -d)
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
timed() { /usr/bin/time -f "%e" -o "$work/t" "$@" >/dev/null 2>&1; cat "$work/t"; }
# The builder's own time, as `kiln build --check` reports it ("rebuilt in S s"): best of 3.
step() {
  local best=999 t
  for _ in 1 2 3; do
    t=$("$@" 2>&1 >/dev/null | sed -n 's/.*rebuilt in \([0-9.]*\) s.*/\1/p')
    best=$(echo "if ($t < $best) $t else $best" | bc)
  done
  echo "$best"
}
# The reference's wall time: best of 3.
timed3() {
  local best=999 t
  for _ in 1 2 3; do
    t=$(timed "$@")
    best=$(echo "if ($t < $best) $t else $best" | bc)
  done
  echo "$best"
}

iso_dir=$("$kiln" build --no-link "$profile")            # warm-up, not timed
initrd_dir=$("$kiln" build --no-link -A config.system.build.initialRamdisk "$profile")
iso=$(ls "$iso_dir"/iso/*.iso)

# initrd: kiln's step against cpio + zstd on the same tree (kiln's initrd, unpacked).
mkdir "$work/initrd-tree"
(cd "$work/initrd-tree" && zstd -dc "$initrd_dir/initrd" | cpio -idm --quiet 2>/dev/null)
k_initrd=$(step "$kiln" build --check -A config.system.build.initialRamdisk "$profile")
k_modules=$(step "$kiln" build --check -A config.system.build.kernelModules "$profile")
# The floor for both sides: zstd alone on the uncompressed archive (same level, all cores).
zstd -dc "$initrd_dir/initrd" >"$work/initrd.cpio"
z_initrd=$(timed3 zstd -T0 -q -f "$work/initrd.cpio" -o "$work/initrd.cpio.zst")
r_initrd=$(timed3 bash -c "cd '$work/initrd-tree' && find . | LC_ALL=C sort | cpio -o -H newc --quiet | zstd -T0 -q -o '$work/ref-initrd' -f")

# ISO: kiln's step against xorriso on the same tree (kiln's ISO, extracted) with the same boot options.
xorriso -osirrox on -indev "$iso" -extract / "$work/iso-tree" >/dev/null 2>&1
chmod -R u+w "$work/iso-tree"
mbr=$(find "$KILN_STORE" -maxdepth 4 -path '*isolinux*/usr/lib/ISOLINUX/isohdpfx.bin' | head -1)
k_iso=$(step "$kiln" build --check "$profile")
r_iso=$(timed3 xorriso -as mkisofs -quiet -R -V BENCH -o "$work/ref.iso" \
  -b isolinux/isolinux.bin -c boot/boot.cat -no-emul-boot -boot-load-size 4 -boot-info-table \
  -eltorito-alt-boot -e boot/efi.img -no-emul-boot -isohybrid-gpt-basdat -isohybrid-mbr "$mbr" \
  "$work/iso-tree")

best=999
for _ in 1 2 3 4 5; do
  t=$(timed "$kiln" build --no-link "$profile")
  best=$(echo "if ($t < $best) $t else $best" | bc)
done

echo "initrd ($(du -h "$initrd_dir/initrd" | cut -f1)): kiln's step $k_initrd s (reads the module index, resolves the closure, packs), cpio+zstd of the finished tree $r_initrd s, ratio $(echo "scale=2; $k_initrd / $r_initrd" | bc)  (target <= 0.5)"
echo "  (zstd -T0 alone on the uncompressed archive: $z_initrd s, ratio to the reference $(echo "scale=2; $z_initrd / $r_initrd" | bc))"
echo "  (the module index itself, once per kernel and module set: aggregate-modules step $k_modules s)"
echo "iso ($(du -h "$iso" | cut -f1)): kiln's step $k_iso s (writes the ESP too), xorriso with the ESP given $r_iso s, ratio $(echo "scale=2; $k_iso / $r_iso" | bc)  (target <= 0.5)"
echo "initrd + iso: kiln $(echo "$k_initrd + $k_iso" | bc) s, reference $(echo "$r_initrd + $r_iso" | bc) s, ratio $(echo "scale=2; ($k_initrd + $k_iso) / ($r_initrd + $r_iso)" | bc)"
echo "no-op kiln build: best of 5 ${best} s  (target <= 0.05)"
