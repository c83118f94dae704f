#!/usr/bin/env python3
"""Memory of `kiln repl` over reloads (issue 17): loads a profile, then types `:r` RELOADS times,
and after each reload evaluates EXPR (to make the evaluation do real work) and reads the
process's resident set size from /proc.

Prints the RSS (KiB) after the first reload, after the last and the largest after any, then
last/first and largest/first; with --all, the RSS after every reload on stderr. The REPL runs in a pseudo-terminal, as a person would use it (and as
crates/kiln-cli/tests/repl.rs drives it).

The profile's packages come from the store (`$KILN_STORE`, else the user's cache) without the
network; with no Debian index there, EXPR fails on the first store path and measures little.

Usage: repl.py KILN [--reloads N] [--expr EXPR] [--profile PATH] [--all]
"""

import argparse
import os
import pty
import select
import sys
import tempfile
import time

PROMPT = b"kiln-repl> "
MACBOOK = "profiles/installer/cd-dvd/installation-cd-graphical-gnome-macbook.nix"
DEFAULT_EXPR = "builtins.length (builtins.attrNames (builtins.deepSeq config.boot config.boot))"


def read_until(fd, marker, timeout=300.0):
    """Reads from the pty until `marker` has been seen; returns what was read."""
    data = b""
    deadline = time.monotonic() + timeout
    while marker not in data:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"no {marker!r} after {timeout} s; got {data[-400:]!r}")
        ready, _, _ = select.select([fd], [], [], left)
        if ready:
            chunk = os.read(fd, 65536)
            if not chunk:
                raise EOFError(f"the REPL exited; last output {data[-400:]!r}")
            data += chunk
    return data


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("kiln")
    parser.add_argument("--reloads", type=int, default=50)
    parser.add_argument("--expr", default=DEFAULT_EXPR)
    parser.add_argument("--profile", default=MACBOOK)
    parser.add_argument("--all", action="store_true")
    args = parser.parse_args()

    # The history goes to a scratch directory; the store is the user's (or $KILN_STORE), whose
    # Debian index gives the profile its real package set, as `kiln repl` would use it.
    home = tempfile.mkdtemp(prefix="kiln-repl-bench-")
    env = dict(os.environ, XDG_DATA_HOME=home, NO_COLOR="1", TERM="dumb")
    pid, fd = pty.fork()
    if pid == 0:
        os.execve(args.kiln, [args.kiln, "repl", args.profile], env)
    read_until(fd, PROMPT)

    def step(line):
        os.write(fd, line.encode() + b"\r")
        # The echo of the typed line comes first, then the output and the next prompt.
        read_until(fd, PROMPT)

    sizes = []
    for _ in range(args.reloads + 1):
        step(":r")
        if args.expr:
            step(args.expr)
        sizes.append(rss_kib(pid))
        if args.all:
            print(f"reload {len(sizes)}: {sizes[-1]} KiB", file=sys.stderr)
    os.write(fd, b":q\r")
    os.waitpid(pid, 0)
    first, last, most = sizes[0], sizes[-1], max(sizes)
    print(f"{first} {last} {most} {last / first:.2f} {most / first:.2f}")


if __name__ == "__main__":
    main()
