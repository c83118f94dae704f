#!/usr/bin/env bash
# GNOME ISO cold build (issue 15): `kiln build` of the GNOME installer into an empty store, with the
# time of every progress line recorded, split into
#   download   first fetch-deb start .. last fetch-deb end (the signed index included)
#   unpack     unpack-deb steps, which overlap the downloads: the last one's end
#   configure  the debian-root step's own split: copy of the unpacked packages into one tree, dpkg
#              configuring it in the sandbox, the squashfs, removing the scratch tree
#   register   the debian-root step's end after its message (hashing and sealing the output)
#   iso        the ISO step
# and the ISO's size. Needs the network; the store is deleted afterwards unless KEEP_STORE=1.
#
#   tests/bench/gnome.sh [PROFILE]   (default: the GNOME installer)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
profile=${1:-$root/profiles/installer/cd-dvd/installation-cd-graphical-gnome.nix}
(cd "$root" && cargo build --release -q -p kiln-cli)
kiln=$root/target/release/kiln
work=$(mktemp -d)
trap '[ "${KEEP_STORE:-}" = 1 ] || { chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"; }' EXIT
export KILN_STORE=$work/store

python3 - "$kiln" "$profile" "$work" <<'PY'
import re, subprocess, sys, time, os
kiln, profile, work = sys.argv[1:4]
start = time.monotonic()
proc = subprocess.Popen([kiln, "build", "-o", f"{work}/result", profile],
                        stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
events = []  # (seconds, verb, name, builder)
message = None
for line in proc.stderr:
    t = time.monotonic() - start
    # "building NAME [HASH] (BUILDER)" and "built NAME [HASH]" (kiln-cli's plain progress)
    m = re.match(r"(building|built) (\S+ \[\w+\])(?: \((\S+)\))?$", line.strip())
    if m:
        events.append((t, m.group(1), m.group(2), m.group(3)))
    if "configured in" in line:
        message = (t, line.strip())
    if line.startswith("built ") and "step(s)" in line:
        print(line.strip())
proc.wait()
total = time.monotonic() - start
if proc.returncode != 0:
    sys.exit(f"kiln build failed ({proc.returncode})")
builder = {}
for t, verb, name, b in events:
    if b:
        builder[name] = b
def span(kind):
    starts = [t for t, v, n, _ in events if v == "building" and builder.get(n) == kind]
    ends = [t for t, v, n, _ in events if v == "built" and builder.get(n) == kind]
    return (min(starts), max(ends)) if starts else (0, 0)
fetch = span("fetch-deb"); unpack = span("unpack-deb"); root = span("debian-root"); iso = span("iso")
print(f"total          {total:7.1f} s")
print(f"download       {fetch[1] - fetch[0]:7.1f} s  ({fetch[0]:.1f} .. {fetch[1]:.1f})")
print(f"unpack         done at {unpack[1]:.1f} s (overlapping the downloads)")
print(f"debian-root    {root[1] - root[0]:7.1f} s  ({root[0]:.1f} .. {root[1]:.1f})")
if message:
    print(f"  {message[1]}")
    print(f"  registered   {root[1] - message[0]:7.1f} s after its message")
print(f"iso            {iso[1] - iso[0]:7.1f} s")
out = open(f"{work}/result/iso/" + os.listdir(f"{work}/result/iso")[0], "rb")
out.seek(0, 2)
print(f"ISO size       {out.tell()} bytes ({out.tell() / 2**20:.0f} MiB)")
PY
