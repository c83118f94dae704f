#!/usr/bin/env bash
# kiln's module-system suite in the style of nixpkgs' `lib/tests/modules.sh`: many small module
# files, each combination evaluated by `nix-instantiate` and checked with grep on stdout or
# stderr. It runs unchanged against nix 2.8 and, through `tests/compat/run.sh`, against kiln.
#
# Run: tests/compat/run.sh --nix tests/compat/modules/modules.sh   (nix 2.8)
#      tests/compat/run.sh tests/compat/modules/modules.sh         (kiln)

set -o errexit -o noclobber -o nounset -o pipefail
shopt -s failglob inherit_errexit

DIR="$( cd "$( dirname "${BASH_SOURCE[0]}" )" >/dev/null 2>&1 && pwd )"
cd "$DIR"

pass=0
fail=0

evalConfig() {
    local attr=$1
    shift
    local script="import ./default.nix { modules = [ $* ];}"
    nix-instantiate --timeout 1 -E "$script" -A "$attr" --eval-only --show-trace --read-write-mode --strict --json
}

reportFailure() {
    local attr=$1
    shift
    local script="import ./default.nix { modules = [ $* ];}"
    echo 2>&1 "$ nix-instantiate -E '$script' -A '$attr' --eval-only --strict --json"
    evalConfig "$attr" "$@" || true
    ((++fail))
}

checkConfigOutput() {
    local outputContains=$1
    shift
    if evalConfig "$@" 2>/dev/null | grep -E --silent "$outputContains" ; then
        ((++pass))
    else
        echo 2>&1 "error: Expected result matching '$outputContains', while evaluating"
        reportFailure "$@"
    fi
}

checkConfigError() {
    local errorContains=$1
    local err=""
    shift
    if err="$(evalConfig "$@" 2>&1 >/dev/null)"; then
        echo 2>&1 "error: Expected error code, got exit code 0, while evaluating"
        reportFailure "$@"
    else
        if echo "$err" | grep -zP --silent "$errorContains" ; then
            ((++pass))
        else
            echo 2>&1 "error: Expected error matching '$errorContains', while evaluating"
            reportFailure "$@"
        fi
    fi
}

# Booleans, defaults and priorities.
checkConfigOutput '^false$' config.enable ./declare-enable.nix
checkConfigOutput '^true$' config.enable ./declare-enable.nix ./define-enable.nix
checkConfigOutput '^false$' config.enable ./declare-enable.nix ./define-enable.nix ./define-enable-force-false.nix
checkConfigOutput '^true$' config.enable ./declare-enable.nix ./define-enable.nix ./define-enable-default-false.nix
checkConfigOutput '^false$' config.enable ./declare-enable.nix ./define-enable-if-false.nix
checkConfigOutput '^false$' config.enable ./declare-enable.nix ./define-enable.nix ./define-enable-force-false.nix ./define-enable-override-low.nix
checkConfigOutput '^"Whether to enable the thing\."$' options.enable.description ./declare-enable.nix
checkConfigOutput '^true$' options.enable.isDefined ./declare-enable.nix ./define-enable.nix
checkConfigOutput '^50$' options.enable.highestPrio ./declare-enable.nix ./define-enable.nix ./define-enable-force-false.nix

# Definitions of the wrong type, unknown options, conflicts.
checkConfigError 'A definition for option .enable. is not of type .boolean.. Definition values:\n\s*- In .*define-enable-string.nix(:[0-9]+)?.: "yes"' config.enable ./declare-enable.nix ./define-enable-string.nix
checkConfigError 'The option .enable. does not exist. Definition values:\n\s*- In .*: true' config.enable ./define-enable.nix
checkConfigError 'The option .name. has conflicting definition values:\n\s*- In .*define-name-b.nix:1.: "b"\n\s*- In .*define-name-a.nix:1.: "a"' config.name ./declare-name.nix ./define-name-a.nix ./define-name-b.nix
checkConfigOutput '^"a"$' config.name ./declare-name.nix ./define-name-a.nix ./define-name-a-again.nix
checkConfigError 'The option .value. is used but not defined\.' config.value ./declare-value-int.nix
# A long file name stays on one line, so `.*` can match across it.
checkConfigError 'A definition for option .enable. is not of type .boolean.. Definition values:\n\s*- In .*define-enable-in-a-module-file-whose-name-is-long-enough-that-a-wrapping-renderer-would-break-its-line\.nix:1.: "not a boolean"' config.enable ./declare-enable.nix ./define-enable-in-a-module-file-whose-name-is-long-enough-that-a-wrapping-renderer-would-break-its-line.nix

# Integer types.
checkConfigOutput '^42$' config.value ./declare-value-positive.nix ./define-value-42.nix
checkConfigError 'A definition for option .value. is not of type .positive integer, meaning >0.. Definition values:\n\s*- In .*: 0' config.value ./declare-value-positive.nix ./define-value-zero.nix
checkConfigOutput '^42$' config.value ./declare-value-between.nix ./define-value-42.nix
checkConfigError 'A definition for option .* is not of type.*between.*-21 and 43.*inclusive.*. Definition values:\n\s*- In .*: -23' config.value ./declare-value-between.nix ./define-value-negative.nix

# either, enum, coercedTo.
checkConfigOutput '^42$' config.value ./declare-value-either.nix ./define-value-42.nix
checkConfigOutput '^"24"$' config.value ./declare-value-either.nix ./define-value-string.nix
checkConfigError 'A definition for option .value. is not of type .signed integer or string.. Definition values:\n\s*- In .*: \[ \]' config.value ./declare-value-either.nix ./define-value-list.nix
checkConfigOutput '^"xz"$' config.value ./declare-value-enum.nix
checkConfigError 'is not of type .one of "xz", "zstd".' config.value ./declare-value-enum.nix ./define-value-gzip.nix
checkConfigOutput '^"42"$' config.value ./declare-value-coerced.nix
checkConfigOutput '^"24"$' config.value ./declare-value-coerced.nix ./define-value-string.nix
checkConfigError 'A definition for option .value. is not of type .string or signed integer convertible to it.. Definition values:\n\s*- In .*: \[ \]' config.value ./declare-value-coerced.nix ./define-value-list.nix

# Lists: the definitions in reverse module order, mkBefore/mkAfter on top, imports breadth first.
checkConfigOutput '^\[2,1\]$' config.list ./declare-list.nix ./define-list-1.nix ./define-list-2.nix
checkConfigOutput '^\[0,2,1,9\]$' config.list ./declare-list.nix ./define-list-after.nix ./define-list-1.nix ./define-list-2.nix ./define-list-before.nix
checkConfigOutput '^\[2,1,3\]$' config.list ./declare-list.nix ./define-list-imports.nix
checkConfigError 'A definition for option .list\.\[definition 1-entry 1\]. is not of type .signed integer.. Definition values:\n\s*- In .*define-list-string.nix.: "three"' config.list ./declare-list.nix ./define-list-string.nix
checkConfigOutput '^"echo two\\necho one"$' config.script ./declare-lines.nix ./define-lines-one.nix ./define-lines-two.nix

# Attribute sets and submodules.
checkConfigOutput '^\{"a":1,"b":2\}$' config.counts ./declare-attrsOf-int.nix ./define-counts-a.nix ./define-counts-b.nix
checkConfigError 'attribute .*foo.* in selection path .*config.attrsOfSub.foo.enable.* not found' config.attrsOfSub.foo.enable ./declare-attrsOfSub-enable.nix
checkConfigOutput '^false$' config.attrsOfSub.foo.enable ./declare-attrsOfSub-enable.nix ./define-attrsOfSub-foo.nix
checkConfigOutput '^true$' config.attrsOfSub.foo.enable ./declare-attrsOfSub-enable.nix ./define-attrsOfSub-foo-enable.nix
checkConfigOutput '^false$' config.attrsOfSub.foo.enable ./declare-attrsOfSub-enable.nix ./define-attrsOfSub-foo-enable.nix ./define-attrsOfSub-foo-force-disable.nix
checkConfigOutput '^"bar"$' config.attrsOfSub.bar.label ./declare-attrsOfSub-enable.nix ./define-attrsOfSub-foo.nix ./define-attrsOfSub-bar-label.nix
checkConfigError 'attribute .*bar.* in selection path .*config.attrsOfSub.bar.* not found' config.attrsOfSub.bar ./declare-attrsOfSub-enable.nix ./define-attrsOfSub-foo.nix
checkConfigOutput '^null$' config.maybe ./declare-nullOr.nix
checkConfigOutput '^"set"$' config.maybe ./declare-nullOr.nix ./define-maybe.nix

# types.anything merges sets recursively; types.attrs is a shallow `//`.
checkConfigOutput '^\{"a":\{"b":1,"c":2\},"keep":"x"\}$' config.free ./declare-anything.nix ./define-anything-a.nix ./define-anything-b.nix
checkConfigError 'The option .free. has conflicting option types in ' config.free ./declare-anything.nix ./define-anything-a.nix ./define-anything-int.nix
# (Definitions merge in the reverse of module order, so the earlier module's `a` wins.)
checkConfigOutput '^\{"a":\{"c":2\},"x":1\}$' config.shallow ./declare-attrs.nix ./define-attrs-b.nix ./define-attrs-a.nix
checkConfigOutput '^\{"a":\{"b":1\},"x":1\}$' config.shallow ./declare-attrs.nix ./define-attrs-a.nix ./define-attrs-b.nix

# Module arguments, config references, disabledModules.
checkConfigOutput '^10$' config.value ./declare-value-int.nix ./custom-arg.nix ./define-value-from-custom-arg.nix
checkConfigOutput '^1$' config.value ./declare-value-int.nix ./declare-enable.nix ./define-enable.nix ./define-value-from-enable.nix
checkConfigOutput '^false$' config.enable ./declare-enable.nix ./define-enable.nix ./disable-define-enable.nix

# Errors of the language itself, as the first line of the report.
checkConfigError 'infinite recursion encountered' config.value ./declare-value-int.nix ./define-value-recursive.nix
checkConfigError 'the enable definition throws' config.enable ./declare-enable.nix ./define-enable-throw.nix
checkConfigError "evaluation aborted with the following error message: 'stop right there'" config.enable ./declare-enable.nix ./define-enable-abort.nix
checkConfigError "assertion '\(1 == 2\)' failed" config.value ./declare-value-int.nix ./define-value-assert.nix
checkConfigError "attribute 'nope' in selection path 'config.nope' not found" config.nope ./declare-enable.nix
# The report starts a line with `error: `, as nix's does (nix may print warnings before it).
checkConfigError "(^|\n)error: attribute 'nope'" config.nope ./declare-enable.nix

cat <<EOF
====== module tests ======
$pass Pass
$fail Fail
EOF

if [ "$fail" -ne 0 ]; then
    exit 1
fi
exit 0
