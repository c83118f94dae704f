#!/bin/sh
# Runs every module test case through nix-instantiate (the oracle) and diffs against the expected files.
#   tests/module/<case>.nix      -> stdout of `nix-instantiate --eval --strict`, expected in <case>.out
#   tests/module/err/<case>.nix  -> the error message (must fail),              expected in <case>.err
# Paths under the repository root are shown as $ROOT, so expected files do not depend on the checkout.
# The error message is nix's stderr without the "error: " prefix, its indentation, the --show-trace hint and
# the source excerpts nix adds for errors of the language itself ("at FILE:LINE:COL:" and the numbered
# source lines after it); trailing blank lines go too.
# UPDATE_EXPECT=1 rewrites the expected files instead of comparing.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
nix=${NIX_INSTANTIATE:-nix-instantiate}
# Run as root without nix's build users, nix warns on every call that `nixbld` is missing.
export NIX_CONFIG="${NIX_CONFIG:-build-users-group =}"
pass=0
fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

redact() { sed -e "s|$root|\$ROOT|g"; }

check() { # check CASE EXPECTED ACTUAL
  if [ "${UPDATE_EXPECT:-}" = 1 ]; then
    cp "$3" "$2"
    pass=$((pass + 1))
  elif diff -u "$2" "$3" >"$tmp/diff" 2>&1; then
    pass=$((pass + 1))
  else
    fail=$((fail + 1))
    echo "FAIL $1"
    cat "$tmp/diff"
  fi
}

for case in "$here"/*.nix; do
  [ -e "$case" ] || continue
  name=${case#"$here"/}
  if "$nix" --eval --strict "$case" >"$tmp/out" 2>"$tmp/err"; then
    redact <"$tmp/out" >"$tmp/actual"
  else
    { echo "unexpected failure:"; redact <"$tmp/err"; } >"$tmp/actual"
  fi
  check "$name" "${case%.nix}.out" "$tmp/actual"
done

for case in "$here"/err/*.nix; do
  [ -e "$case" ] || continue
  name=err/${case#"$here"/err/}
  if "$nix" --eval --strict "$case" >"$tmp/out" 2>"$tmp/err"; then
    { echo "unexpected success:"; redact <"$tmp/out"; } >"$tmp/actual"
  else
    sed -e '1s/^error: //' -e 's/^       //' -e "/^(use '--show-trace'/d" "$tmp/err" \
      | awk '
          /^at .*:[0-9]+:[0-9]+:$/ { skip = 1; blank = 0; next }
          skip && (/^$/ || /^ *[0-9]*\|/) { next }
          /^$/ { blank++; next }
          { skip = 0; while (blank > 0) { print ""; blank-- } print }' | redact >"$tmp/actual"
  fi
  check "$name" "${case%.nix}.err" "$tmp/actual"
done

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
