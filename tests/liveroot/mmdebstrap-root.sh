#!/bin/sh
# Installs the package set of a profile's base layer with Debian's mmdebstrap, from a local file
# mirror made of the very `.deb` files kiln's store holds, so both sides install the same bytes
# and neither touches the network. Used by crates/kiln-cli/tests/live_root.rs (the two trees
# compared).
#
#   tests/liveroot/mmdebstrap-root.sh PROFILE DEST     (KILN, KILN_STORE as for kiln)
#
# DEST gets `mirror/` (the .debs, Packages, Release), `root.tar` (mmdebstrap's tree, owners
# included), `packages` (the names installed) and `mmdebstrap.ms` (its wall time).
#
# As root mmdebstrap runs in its `root` mode; otherwise in its `unshare` mode, a user namespace
# with the user's subordinate ids (newuidmap and newgidmap from `uidmap`, and ranges in
# /etc/subuid and /etc/subgid), where the mirror must be readable by others. Either way the
# tree comes out as a tarball, which mmdebstrap makes bit for bit the same in both modes; a
# directory made in `unshare` mode would be owned by ids that mean nothing outside it.
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
mode=root
[ "$(id -u)" -eq 0 ] || mode=unshare
rm -f "$dest/root.tar"
start=$(date +%s%N)
# variant essential + every name: apt installs exactly the mirror's packages (it holds nothing
# else), Essential first, as kiln's closure has them.
mmdebstrap --quiet --mode=$mode --variant=essential \
  --include="$(paste -sd, "$dest/packages")" \
  --essential-hook="$hook" \
  --aptopt='Acquire::Languages "none"' \
  bookworm "$dest/root.tar" "deb [trusted=yes] copy://$dest/mirror bookworm main"
end=$(date +%s%N)
echo $(((end - start) / 1000000)) >"$dest/mmdebstrap.ms"
