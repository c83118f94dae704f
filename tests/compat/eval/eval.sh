#!/usr/bin/env bash
# `nix-instantiate --eval`'s command line as scripts write it: `-E` as a switch anywhere on the
# line, `--arg`/`--argstr`, `-A` paths, `-I`, `--strict`, `--json`, and errors on stderr.
# Runs unchanged against nix 2.8 and, through `tests/compat/run.sh`, against kiln.

set -o errexit -o noclobber -o nounset -o pipefail
shopt -s inherit_errexit

cd "$( dirname "${BASH_SOURCE[0]}" )"

pass=0
fail=0

# checkOutput EXPECTED ARGS...: stdout is exactly EXPECTED.
checkOutput() {
    local expected=$1
    shift
    local out
    if out="$(nix-instantiate "$@" 2>/dev/null)" && [[ $out == "$expected" ]]; then
        ((++pass))
    else
        echo "error: nix-instantiate $* printed '${out:-}', expected '$expected'" >&2
        ((++fail))
    fi
}

# checkError REGEX ARGS...: the command fails and stderr matches REGEX (grep -zP).
checkError() {
    local regex=$1
    shift
    local err
    if err="$(nix-instantiate "$@" 2>&1 >/dev/null)"; then
        echo "error: nix-instantiate $* succeeded, expected an error matching '$regex'" >&2
        ((++fail))
    elif echo "$err" | grep -zP --silent "$regex"; then
        ((++pass))
    else
        echo "error: nix-instantiate $* failed with '$err', expected '$regex'" >&2
        ((++fail))
    fi
}

checkOutput '2' --eval -E '1 + 1'
checkOutput '2' -E --eval '1 + 1'
checkOutput '2' --eval --strict -E --read-write-mode '1 + 1' --timeout 1
checkOutput '[ 1 2 ]' --eval-only --strict -E '[ 1 2 ]'
checkOutput '<LAMBDA>' --eval -E '{ a }: a'
checkOutput '3' --eval -E '{ a }: a' --arg a 3
checkOutput '"hi"' --eval -E '{ a }: a' --argstr a hi
checkOutput '{ c = "x"; nested = { f = <LAMBDA>; list = [ 1 2 ]; }; sum = 3; }' --eval --strict function.nix --arg a 1
checkOutput '2' --eval --strict function.nix --arg a 1 -A nested.list.1
checkOutput '[1,2]' --eval --strict --json ./function.nix --arg a 1 -A nested.list
checkOutput '42' --eval -I here=. -E '(import <here/search.nix>).sum'
checkOutput '{ a = 1; b = <CODE>; }' --eval -E 'let x = 1; in { a = x; b = x + 1; }'
checkOutput '"ok"' --eval -E --strict 'builtins.head [ "ok" ]' --show-trace

checkError "attribute 'b' in selection path 'a.b' not found" --eval -E '{ a = { }; }' -A a.b
checkError "the expression selected by the selection path 'a.b' should be a set but is an integer" --eval -E '{ a = 1; }' -A a.b
checkError "list index 3 in selection path 'l.3' is out of range" --eval -E '{ l = [ 1 ]; }' -A l.3
checkError "cannot evaluate a function that has an argument without a value \('b'\)" --eval -E '{ a, b }: a' --arg a 1
checkError "(^|\n)error: custom failure\n\s*second line" --eval -E 'throw "custom failure\nsecond line"'
checkError "evaluation aborted with the following error message: 'stop'" --eval -E 'abort "stop"'
checkError "assertion '\(1 == 2\)' failed" --eval -E 'assert 1 == 2; 1'
checkError "undefined variable 'y'" --eval -E 'y'
checkError "attribute 'x' missing" --eval -E '{ }.x'
checkError "value is an integer while a set was expected" --eval -E '1 // { }'
checkError "infinite recursion encountered" --eval -E 'let x = x; in x'
checkError "anonymous function at \(string\):1:2 called without required argument 'a'" --eval -E '({ a }: a) { }'
checkError "'f' at \(string\):1:9 called with unexpected argument 'z'" --eval -E 'let f = { a }: a; in f { a = 1; z = 2; }'
checkError "syntax error, unexpected '\}'" --eval -E '{ a = 1; }}'
checkError "file 'nowhere' was not found in the Nix search path \(add it using \\\$NIX_PATH or -I\)" --eval -E '<nowhere>'
checkError "getting status of '/nonexistent-kiln-compat': No such file or directory" --eval -E 'import /nonexistent-kiln-compat'

cat <<END
====== eval tests ======
$pass Pass
$fail Fail
END
[ "$fail" -eq 0 ]
