#!/bin/sh
# Installs the package set of a profile's base layer with Debian's mmdebstrap, from a local file
# mirror made of the very `.deb` files kiln's store holds, so both sides install the same bytes
# and neither touches the network. Used by tests/bench/liveroot.sh (speed) and by
# crates/kiln-cli/tests/live_root.rs (the two trees compared).
#
#   tests/liveroot/mmdebstrap-root.sh PROFILE DEST     (as root; KILN, KILN_STORE as for kiln)
#
# DEST gets `mirror/` (the .debs, Packages, Release), `root/` (mmdebstrap's tree), `packages`
# (the names installed) and `mmdebstrap.ms` (its wall time).
set -eu
profile=$1
dest=$2
kiln=${KILN:-target/release/kiln}
rm -rf "$dest/mirror"
mkdir -p "$dest/mirror/pool" "$dest/mirror/dists/bookworm/main/binary-amd64"
chmod -R 755 "$dest"
# The .deb of every package of the base layer, by its store path.
"$kiln" build --locked --no-link -A config.system.build.baseDebs "$profile" >"$dest/debs"
while read -r deb; do
  # Hard links (copies across file systems): apt reads the mirror as `_apt`, which cannot
  # follow links into a store under a private home.
  ln -f "$deb" "$dest/mirror/pool/$(basename "$deb" | cut -d- -f2-)" 2>/dev/null \
    || cp "$deb" "$dest/mirror/pool/$(basename "$deb" | cut -d- -f2-)"
done <"$dest/debs"
(
  cd "$dest/mirror"
  apt-ftparchive packages pool >dists/bookworm/main/binary-amd64/Packages 2>/dev/null
  apt-ftparchive -o APT::FTPArchive::Release::Suite=bookworm \
    -o APT::FTPArchive::Release::Codename=bookworm \
    -o APT::FTPArchive::Release::Architectures=amd64 \
    -o APT::FTPArchive::Release::Components=main \
    release dists/bookworm >dists/bookworm/Release
)
sed -n 's/^Package: //p' "$dest/mirror/dists/bookworm/main/binary-amd64/Packages" | sort -u >"$dest/packages"
# The same answers to debconf that kiln gives (`system.debconfSelections`).
"$kiln" eval --json -A config.system.debconfSelections "$profile" \
  | python3 -c 'import json, sys; sys.stdout.write(json.load(sys.stdin))' >"$dest/selections"
# debconf is not Essential: it is installed first, so the answers are in before apt configures
# the packages that ask (kiln sets them at the same point, after debconf is configured).
hook=true
if [ -s "$dest/selections" ]; then
  hook="cp $dest/mirror/pool/debconf_*.deb \"\$1/tmp/\" && chroot \"\$1\" sh -c 'dpkg -i /tmp/debconf_*.deb && rm /tmp/debconf_*.deb' && chroot \"\$1\" debconf-set-selections < $dest/selections"
fi
rm -rf "$dest/root"
start=$(date +%s%N)
# variant essential + every name: apt installs exactly the mirror's packages (it holds nothing
# else), Essential first, as kiln's closure has them.
mmdebstrap --quiet --mode=root --variant=essential \
  --include="$(paste -sd, "$dest/packages")" \
  --essential-hook="$hook" \
  --aptopt='Acquire::Languages "none"' \
  bookworm "$dest/root" "deb [trusted=yes] copy://$dest/mirror bookworm main"
end=$(date +%s%N)
echo $(((end - start) / 1000000)) >"$dest/mmdebstrap.ms"
