#!/usr/bin/env bash
# Benchmark: `kiln parse` (release) against `nix-instantiate --parse` on the same generated
# corpus (>= 5 MB of varied Nix in many files), in one run. Prints both times and the ratio.
# Usage: tests/bench/parse.sh [N_FILES]   (default 200 files of ~30 KB)
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
n_files="${1:-200}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

command -v nix-instantiate >/dev/null || { echo "nix-instantiate not found (apt-get install nix-bin)" >&2; exit 1; }
(cd "$root" && cargo build --release -q -p kiln-cli)
kiln="$root/target/release/kiln"

python3 - "$work" "$n_files" <<'PY'
import random, sys
out, n = sys.argv[1], int(sys.argv[2])
rng = random.Random(42)
names = ["alpha", "beta", "gamma", "delta", "pkgs", "lib", "config", "opts", "value", "x"]
def leaf(d):
    r = rng.random()
    if r < 0.15: return str(rng.randint(0, 10**6))
    if r < 0.22: return "%d.%d" % (rng.randint(0, 999), rng.randint(0, 999))
    if r < 0.40: return '"str-%d ${toString %d} \\n"' % (rng.randint(0, 99), rng.randint(0, 9))
    if r < 0.48: return "./path/to/file-%d.nix" % rng.randint(0, 99)
    if r < 0.52: return "<nixpkgs/lib>"
    if r < 0.60: return "''\n      indented %d\n        line ${lib.x}\n    ''" % rng.randint(0, 9)
    return rng.choice(["lib.x", "pkgs.hello", "config.a.b or null", "true", "null", "builtins.length [ 1 2 ]"])
def expr(d):
    if d <= 0: return leaf(d)
    r = rng.random()
    if r < 0.2: return "{ %s }" % " ".join("%s_%d = %s;" % (rng.choice(names), i, expr(d - 1)) for i in range(rng.randint(1, 4)))
    if r < 0.3: return "[ %s ]" % " ".join("(%s)" % expr(d - 1) for _ in range(rng.randint(0, 4)))
    if r < 0.4: return "(%s %s %s)" % (expr(d - 1), rng.choice(["+", "-", "*", "//", "++", "==", "&&", "||", "<", ">="]), expr(d - 1))
    if r < 0.5: return "(if %s then %s else %s)" % (expr(d - 1), expr(d - 1), expr(d - 1))
    if r < 0.6: return "(let %s = %s; in %s)" % (rng.choice(names), expr(d - 1), expr(d - 1))
    if r < 0.7: return "({ %s, ... }@args: %s)" % (", ".join(sorted(set(rng.sample(names, 3)))), expr(d - 1))
    if r < 0.8: return "(map (y: %s) %s)" % (expr(d - 1), expr(d - 1))
    if r < 0.85: return "(with lib; %s)" % expr(d - 1)
    return leaf(d)
for i in range(n):
    lines = ["# generated benchmark input %d" % i, "{ lib, pkgs, config, ... }:", "let x = 1; in", "rec {"]
    size = 0
    j = 0
    while size < 28000:
        line = "  attr%d.sub = %s;" % (j, expr(4))
        lines.append(line); size += len(line); j += 1
    lines.append("  inherit x;")
    lines.append("}")
    open("%s/f%04d.nix" % (out, i), "w").write("\n".join(lines) + "\n")
PY

bytes=$(cat "$work"/*.nix | wc -c)
echo "corpus: $n_files files, $bytes bytes"
# Both tools must accept the corpus, or the timing compares different work.
"$kiln" parse "$work"/*.nix > "$work/kiln.out"
nix-instantiate --parse "$work"/*.nix > "$work/nix.out"

time_of() { local start end; start=$(date +%s.%N); "$@" > /dev/null; end=$(date +%s.%N); echo "$end - $start" | bc; }
kiln_s=$(time_of "$kiln" parse "$work"/*.nix)
nix_s=$(time_of nix-instantiate --parse "$work"/*.nix)
echo "kiln parse:            ${kiln_s}s"
echo "nix-instantiate parse: ${nix_s}s"
echo "ratio kiln/nix:        $(echo "scale=3; $kiln_s / $nix_s" | bc)  (target <= 0.5)"
