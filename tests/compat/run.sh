#!/usr/bin/env bash
# Runs a shell test suite written for `nix-instantiate` against kiln, or against nix itself.
#
#   tests/compat/run.sh [--kiln PATH | --nix] SUITE [ARGS...]
#
# With `--kiln PATH` (the default is the workspace's `target/debug/kiln`) the suite runs with a
# `nix-instantiate` wrapper first on its PATH: `--eval`/`--eval-only` lines go to
# `kiln eval`, `--parse` lines to `kiln parse`, both with `--log-format raw`, so errors print as
# nix prints them (`error: MESSAGE`, unwrapped). Instantiation (no `--eval`) builds derivations,
# which kiln eval does not do; the wrapper says so and fails. With `--nix` the suite runs
# against the `nix-instantiate` on PATH, unchanged: the reference result.
#
# The suite's exit status is this script's. Nothing outside a temporary directory is written,
# but for nix's own store (`/nix/store`), which `--read-write-mode` and `fetchGit` write to.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
kiln="$here/../../target/debug/kiln"
against=kiln
while [[ $# -gt 0 ]]; do
    case "$1" in
        --kiln) kiln="$2"; shift 2 ;;
        --nix) against=nix; shift ;;
        --) shift; break ;;
        -*) echo "run.sh: unknown option $1" >&2; exit 2 ;;
        *) break ;;
    esac
done
if [[ $# -lt 1 ]]; then
    echo "usage: run.sh [--kiln PATH | --nix] SUITE [ARGS...]" >&2
    exit 2
fi
suite="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
shift

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

if [[ $against == nix ]]; then
    # nix 2.8 needs a state directory even to evaluate; keep it out of the machine's /nix.
    export NIX_STATE_DIR="${NIX_STATE_DIR:-$tmp/nix-state}"
    # Run as root without nix's build users, nix warns on every call that `nixbld` is missing.
    export NIX_CONFIG="${NIX_CONFIG:-build-users-group =}"
    # A fresh cache: nix's fetcher cache would otherwise answer `fetchGit` from earlier runs.
    export XDG_CACHE_HOME="$tmp/cache"
else
    # kiln's store for the run (fetchGit and --read-write-mode write to it).
    export KILN_STORE="$tmp/kiln-store"
    kiln="$(cd "$(dirname "$kiln")" && pwd)/$(basename "$kiln")"
    if [[ ! -x $kiln ]]; then
        echo "run.sh: no kiln binary at $kiln (cargo build -p kiln-cli, or pass --kiln)" >&2
        exit 2
    fi
    mkdir "$tmp/bin"
    cat > "$tmp/bin/nix-instantiate" <<WRAPPER
#!/usr/bin/env bash
# nix-instantiate for suites run against kiln (written by tests/compat/run.sh).
mode=instantiate
args=()
for arg in "\$@"; do
    case "\$arg" in
        --eval|--eval-only) mode=eval ;;
        --parse) mode=parse ;;
        *) args+=("\$arg") ;;
    esac
done
case \$mode in
    eval) exec "$kiln" --log-format raw eval "\${args[@]}" ;;
    parse) exec "$kiln" --log-format raw parse "\${args[@]}" ;;
    *) echo "error: kiln's nix-instantiate wrapper only evaluates (--eval) and parses (--parse); instantiating derivations needs a store" >&2
       exit 1 ;;
esac
WRAPPER
    chmod +x "$tmp/bin/nix-instantiate"
    export PATH="$tmp/bin:$PATH"
fi

cd "$(dirname "$suite")"
bash "$suite" "$@"
