#!/usr/bin/env bash
# The store builtins as scripts check them: paths interpolated into strings, `toFile`,
# `builtins.path`, `filterSource`, `derivation`, string context, and `fetchGit` on Git
# repositories this script creates in a scratch directory. It runs unchanged against nix 2.8
# and, through `tests/compat/run.sh`, against kiln.
#
# Store directories and hashes differ between the two (`/nix/store/<nix hash>-x`, kiln's store
# and blake3), so the checks compare what must agree: names after the hash (`lib.nix`), context
# shapes, file contents read back, Git revisions, counts and dates, `narHash` (the NAR's
# SHA-256, the same for the same tree), and the first lines of errors.
#
# Run: tests/compat/run.sh --nix tests/compat/store/store.sh   (nix 2.8)
#      tests/compat/run.sh tests/compat/store/store.sh         (kiln)

set -o errexit -o noclobber -o nounset -o pipefail
shopt -s inherit_errexit

DIR="$( cd "$( dirname "${BASH_SOURCE[0]}" )" >/dev/null 2>&1 && pwd )"
cd "$DIR"

work="$(mktemp -d)"
trap 'chmod -R u+w "$work"; rm -rf "$work"' EXIT

pass=0
fail=0

# Every expression sees `lib` (./lib.nix).
prelude="let lib = import $DIR/lib.nix; in "

# checkEval EXPECTED EXPR: `--eval --strict --read-write-mode` prints exactly EXPECTED.
checkEval() {
    local expected=$1 expr=$2 out
    if out="$(nix-instantiate --eval --strict --read-write-mode -E "$prelude$expr" 2>/dev/null)" \
        && [[ $out == "$expected" ]]; then
        ((++pass))
    else
        echo "error: '$expr' printed '${out:-}', expected '$expected'" >&2
        nix-instantiate --eval --strict --read-write-mode -E "$prelude$expr" >&2 || true
        ((++fail))
    fi
}

# checkMatch REGEX EXPR: as checkEval, stdout matching REGEX (grep -P).
checkMatch() {
    local regex=$1 expr=$2 out
    if out="$(nix-instantiate --eval --strict --read-write-mode -E "$prelude$expr" 2>/dev/null)" \
        && echo "$out" | grep -P --silent "$regex"; then
        ((++pass))
    else
        echo "error: '$expr' printed '${out:-}', expected a match of '$regex'" >&2
        ((++fail))
    fi
}

# checkErrorIn MODE REGEX EXPR: evaluating fails and stderr matches REGEX (grep -zP). MODE is
# `--read-write-mode`, or `--readonly-mode` for nix-instantiate's default.
checkErrorIn() {
    local mode=$1 regex=$2 expr=$3 err
    local args=(--eval --strict -E "$prelude$expr")
    [[ $mode == --readonly-mode ]] || args+=("$mode")
    if err="$(nix-instantiate "${args[@]}" 2>&1 >/dev/null)"; then
        echo "error: '$expr' succeeded, expected an error matching '$regex'" >&2
        ((++fail))
    elif echo "$err" | grep -zP --silent "$regex"; then
        ((++pass))
    else
        echo "error: '$expr' failed with '$err', expected '$regex'" >&2
        ((++fail))
    fi
}

checkError() {
    checkErrorIn --read-write-mode "$@"
}

# checkWarning REGEX EXPR: evaluating succeeds and stderr matches REGEX.
checkWarning() {
    local regex=$1 expr=$2 err
    if err="$(nix-instantiate --eval --strict --read-write-mode -E "$prelude$expr" 2>&1 >/dev/null)" \
        && echo "$err" | grep -zP --silent "$regex"; then
        ((++pass))
    else
        echo "error: '$expr' printed '${err:-}' on stderr, expected '$regex'" >&2
        ((++fail))
    fi
}

# --- Paths interpolated into strings -------------------------------------------------------

checkEval 'true' 'lib.isStorePath "${./data/hello.txt}"'
checkEval '"hello.txt"' 'lib.name "${./data/hello.txt}"'
checkEval '"hello\n"' 'builtins.readFile "${./data/hello.txt}"'
checkEval '"hello\n"' 'builtins.readFile "${./data}/hello.txt"'
checkEval '"hello.txt"' 'lib.name "${./data + "/hello.txt"}"'
checkEval '{ "hello.txt" = "regular"; "skip.txt" = "regular"; sub = "directory"; }' 'builtins.readDir "${./data}"'
checkEval '[ { at = "hello.txt"; path = true; } ]' 'lib.context "${./data/hello.txt}"'
checkEval '[ true false ]' 'map builtins.hasContext [ "${./data}" (toString ./data) ]'
checkEval "\"$DIR/data\"" 'toString ./data'
checkEval 'true' 'builtins.hasContext (builtins.toJSON { p = ./data; })'
checkEval '"\"data\""' 'builtins.toJSON (lib.name (builtins.fromJSON (builtins.unsafeDiscardStringContext (builtins.toJSON ./data))))'
checkEval 'true' '"${./data}" == "${./data}"'
checkError "getting status of '.*/data/nonexistent': No such file or directory" '"${./data/nonexistent}"'

# --- toFile ---------------------------------------------------------------------------------

checkEval '"greeting"' 'lib.name (builtins.toFile "greeting" "hi")'
checkEval '"hi\n"' 'builtins.readFile (builtins.toFile "greeting" "hi\n")'
checkEval '[ { at = "greeting"; path = true; } ]' 'lib.context (builtins.toFile "greeting" "hi")'
checkEval 'true' 'let g = builtins.toFile "g" "x"; in builtins.readFile (builtins.toFile "see" "see ${g}") == "see ${g}"'
checkEval '[ { at = "g"; path = true; } { at = "see"; path = true; } ]' 'let g = builtins.toFile "g" "x"; in lib.context "${builtins.toFile "see" "see ${g}"}${g}"'
checkEval '3' 'import (builtins.toFile "three.nix" "1 + 2")'
checkEval '"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"' 'builtins.hashFile "sha256" (builtins.toFile "abc" "abc")'
checkError "in 'toFile': the file named 'x' must not contain a reference to a derivation but contains \(!out!.*-foo\.drv\)" 'builtins.toFile "x" "${lib.drv { }}"'
checkError "in 'toFile': the file named 'x' must not contain a reference to a derivation but contains \(=.*-foo\.drv\)" 'builtins.toFile "x" (lib.drv { }).drvPath'
checkError "store path '[0-9a-z]{32}-a b' contains illegal character ' '" 'builtins.toFile "a b" "x"'
checkError "store path '[0-9a-z]{32}-' has an empty name" 'builtins.toFile "" "x"'
# nix-instantiate's default, read-only mode computes a source's path without writing it.
checkErrorIn --readonly-mode "error: path '[^']*-unwritten-$$' is not valid" "builtins.readFile (builtins.toFile \"unwritten-$$\" \"$work $RANDOM\")"

# --- builtins.path and filterSource ---------------------------------------------------------

checkEval '"renamed"' 'lib.name (builtins.path { path = ./data; name = "renamed"; })'
checkEval '"data"' 'lib.name (builtins.path { path = ./data; })'
checkEval '{ "hello.txt" = "regular"; sub = "directory"; }' 'builtins.readDir (builtins.path { path = ./data; filter = p: t: baseNameOf p != "skip.txt"; })'
checkEval '{ "hello.txt" = "regular"; "skip.txt" = "regular"; }' 'builtins.readDir (builtins.filterSource (p: t: t != "directory") ./data)'
checkEval '"inner\n"' 'builtins.readFile "${builtins.filterSource (p: t: true) ./data}/sub/inner.txt"'
checkEval '[ { at = "data"; path = true; } ]' 'lib.context (builtins.filterSource (p: t: true) ./data)'
checkEval '"hello\n"' 'builtins.readFile (builtins.path { path = ./data/hello.txt; recursive = false; sha256 = "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"; })'
checkEval '"hello.txt"' 'lib.name (builtins.path { path = ./data/hello.txt; sha256 = "04zwf782yjwnh3q6hz5izfd6jyip8kgw6g6yj43fiqhbyhdd0dqw"; })'
checkMatch '^"[0-9a-z]{32}-data"$' 'lib.name (builtins.path { path = "${./data}"; })'
checkError "store path mismatch in \(possibly filtered\) path added from '.*/data'" 'builtins.path { path = ./data; sha256 = "0000000000000000000000000000000000000000000000000000000000000000"; }'
checkError "unsupported argument 'foo' to 'addPath'" 'builtins.path { path = ./data; foo = 1; }'
checkError "'path' required" 'builtins.path { name = "x"; }'
checkError 'value is an integer while a Boolean was expected' 'builtins.filterSource (p: t: 1) ./data'

# --- Derivations and string context ---------------------------------------------------------

checkEval '[ "foo" "foo.drv" ]' 'map lib.name [ (lib.drv { }).outPath (lib.drv { }).drvPath ]'
checkEval '[ "derivation" "out" ]' '[ (lib.drv { }).type (lib.drv { }).outputName ]'
checkEval '[ "all" "builder" "drvAttrs" "drvPath" "name" "out" "outPath" "outputName" "system" "type" ]' 'builtins.attrNames (lib.drv { })'
checkEval 'true' 'let d = lib.drv { }; in builtins.substring 0 (builtins.stringLength builtins.storeDir) d.outPath == builtins.storeDir'
checkEval '[ { at = "foo.drv"; outputs = [ "out" ]; } ]' 'lib.context (lib.drv { }).outPath'
checkEval '[ { at = "foo.drv"; outputs = [ "out" ]; } ]' 'lib.context "${lib.drv { }}/bin/sh"'
checkEval '[ { allOutputs = true; at = "foo.drv"; } ]' 'lib.context (lib.drv { }).drvPath'
checkEval '[ { at = "foo.drv"; path = true; } ]' 'lib.context (builtins.unsafeDiscardOutputDependency (lib.drv { }).drvPath)'
checkEval '[ { at = "foo.drv"; outputs = [ "out" ]; } ]' 'lib.context (builtins.unsafeDiscardOutputDependency (lib.drv { }).outPath)'
checkEval '[ { allOutputs = true; at = "foo.drv"; outputs = [ "out" ]; } { at = "greeting"; path = true; } ]' 'let d = lib.drv { }; in lib.context "${d.drvPath}${d}${builtins.toFile "greeting" "x"}"'
checkEval '[ { at = "foo.drv"; outputs = [ "out" ]; } ]' 'lib.context (builtins.toJSON { x = lib.drv { }; })'
checkEval '[ { at = "foo.drv"; outputs = [ "out" ]; } ]' 'lib.context (builtins.substring 0 3 (lib.drv { }).outPath)'
checkEval '[ { at = "foo.drv"; outputs = [ "out" ]; } ]' 'lib.context (baseNameOf (lib.drv { }).outPath)'
# `toString` keeps a path as it is: no copy, no context.
checkEval '[ { at = "foo.drv"; outputs = [ "out" ]; } ]' 'lib.context (toString [ (lib.drv { }) ./data/hello.txt ])'
checkEval '[ { allOutputs = true; at = "bar.drv"; } ]' 'lib.context (lib.drv { name = "bar"; src = ./data; dep = lib.drv { }; }).drvPath'
checkEval '[ true true false false ]' 'map builtins.hasContext [ (lib.drv { }).outPath (builtins.toFile "x" "y") (builtins.unsafeDiscardStringContext (lib.drv { }).outPath) builtins.storeDir ]'
checkEval 'true' 'let d = lib.drv { }; in d.outPath == builtins.unsafeDiscardStringContext d.outPath'
checkEval '[ { at = "greeting"; path = true; } ]' 'let f = builtins.toFile "greeting" "x"; in lib.context (builtins.appendContext "s" { ${builtins.unsafeDiscardStringContext f} = { path = true; }; })'
checkEval '[ { allOutputs = true; at = "foo.drv"; outputs = [ "dev" "out" ]; } ]' 'let d = builtins.unsafeDiscardStringContext (lib.drv { }).drvPath; in lib.context (builtins.appendContext "s" { ${d} = { allOutputs = true; outputs = [ "out" "dev" ]; }; })'
checkEval 'false' 'let f = builtins.toFile "greeting" "x"; in builtins.hasContext (builtins.appendContext "s" { ${builtins.unsafeDiscardStringContext f} = { path = false; }; })'
checkError "Context key '\"/tmp/x\"' is not a store path" 'builtins.appendContext "s" { "/tmp/x" = { path = true; }; }'
checkError 'Tried to add derivation output context of ".*-greeting", which is not a derivation, to a string' 'let f = builtins.toFile "greeting" "x"; in builtins.appendContext "s" { ${builtins.unsafeDiscardStringContext f} = { outputs = [ "out" ]; }; }'
checkError 'Tried to add all-outputs context of ".*-greeting", which is not a derivation, to a string' 'let f = builtins.toFile "greeting" "x"; in builtins.appendContext "s" { ${builtins.unsafeDiscardStringContext f} = { allOutputs = true; }; }'
checkError "the string '.*-foo' is not allowed to refer to a store path \(such as '!out!.*-foo\.drv'\)" '{ ${(lib.drv { }).outPath} = 1; }'
checkError "the string '.*-foo' is not allowed to refer to a store path \(such as '!out!.*-foo\.drv'\)" 'builtins.getAttr (lib.drv { }).outPath { }'
checkError "the string '.*-greeting' is not allowed to refer to a store path \(such as '.*-greeting'\)" 'builtins.getEnv (builtins.toFile "greeting" "x")'
checkError "store path '[0-9a-z]{32}-a b' contains illegal character ' '" '(lib.drv { name = "a b"; }).outPath'
checkError "attribute 'name' missing for call to 'derivationStrict'" '(derivation { builder = "package-tree"; system = "x86_64-linux"; }).outPath'
checkError "required attribute 'builder' missing" '(derivation { name = "x"; system = "x86_64-linux"; }).outPath'

# --- fetchGit -------------------------------------------------------------------------------

# Git as the test wants it: no user or system configuration, fixed identity and dates, and
# local submodules allowed (both nix and kiln leave the file protocol to Git's configuration).
export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null
export GIT_CONFIG_COUNT=1 GIT_CONFIG_KEY_0=protocol.file.allow GIT_CONFIG_VALUE_0=always
export GIT_AUTHOR_NAME=kiln GIT_AUTHOR_EMAIL=kiln@example.org
export GIT_COMMITTER_NAME=kiln GIT_COMMITTER_EMAIL=kiln@example.org
commitAt() {
    local repo=$1 date=$2 message=$3
    GIT_AUTHOR_DATE=$date GIT_COMMITTER_DATE=$date git -C "$repo" commit --quiet -m "$message"
}

repo="$work/repo"
mkdir "$repo"
git -C "$repo" init --quiet --initial-branch=main
echo one > "$repo/a"
mkdir "$repo/d"
echo two > "$repo/d/b"
printf '#!/bin/sh\n' > "$repo/run"
chmod +x "$repo/run"
ln -s a "$repo/link"
printf 'ign export-ignore\nsubst export-subst\n' > "$repo/.gitattributes"
echo ignored > "$repo/ign"
echo '$Format:%H$' > "$repo/subst"
git -C "$repo" add .
commitAt "$repo" 2020-01-02T03:04:05Z first
first="$(git -C "$repo" rev-parse HEAD)"
git -C "$repo" tag v1
echo three > "$repo/c"
git -C "$repo" add c
commitAt "$repo" 2021-01-02T03:04:05Z second
second="$(git -C "$repo" rev-parse HEAD)"
git -C "$repo" checkout --quiet -b feature
echo four > "$repo/f"
git -C "$repo" add f
commitAt "$repo" 2022-01-02T03:04:05Z third
third="$(git -C "$repo" rev-parse HEAD)"
git -C "$repo" checkout --quiet -b elsewhere main
echo five > "$repo/e"
git -C "$repo" add e
commitAt "$repo" 2023-01-02T03:04:05Z elsewhere
elsewhere="$(git -C "$repo" rev-parse HEAD)"
git -C "$repo" checkout --quiet main

checkEval "{ lastModified = 1609556645; lastModifiedDate = \"20210102030405\"; narHash = \"sha256-IcalGX8rYzrNwJufAmscPIEOgvI951/JeMygVyiggfc=\"; rev = \"$second\"; revCount = 2; shortRev = \"${second:0:7}\"; submodules = false; }" "removeAttrs (builtins.fetchGit $repo) [ \"outPath\" ]"
checkEval '"source"' "lib.name (builtins.fetchGit $repo).outPath"
checkEval 'true' "lib.isStorePath (builtins.fetchGit $repo).outPath"
checkEval '[ { at = "source"; path = true; } ]' "lib.context (builtins.fetchGit $repo).outPath"
checkEval '"one\n"' "builtins.readFile \"\${builtins.fetchGit $repo}/a\""
checkEval "\"$second\\n\"" "builtins.readFile \"\${builtins.fetchGit $repo}/subst\""
checkEval '{ ".gitattributes" = "regular"; a = "regular"; c = "regular"; d = "directory"; link = "symlink"; run = "regular"; subst = "regular"; }' "builtins.readDir (builtins.fetchGit $repo)"
checkEval "\"$second\"" "(builtins.fetchGit \"file://$repo\").rev"
checkEval "\"$second\"" "(builtins.fetchGit { url = $repo; }).rev"
checkEval "[ \"$third\" 3 1641092645 \"20220102030405\" ]" "let r = builtins.fetchGit { url = $repo; ref = \"feature\"; }; in [ r.rev r.revCount r.lastModified r.lastModifiedDate ]"
checkEval "\"$third\"" "(builtins.fetchGit { url = $repo; ref = \"refs/heads/feature\"; }).rev"
checkEval "[ \"$first\" 1 ]" "let r = builtins.fetchGit { url = $repo; ref = \"v1\"; }; in [ r.rev r.revCount ]"
checkEval "[ \"$first\" 1 \"20200102030405\" ]" "let r = builtins.fetchGit { url = $repo; rev = \"$first\"; }; in [ r.rev r.revCount r.lastModifiedDate ]"
checkEval "\"$third\"" "(builtins.fetchGit { url = $repo; rev = \"$third\"; allRefs = true; }).rev"
checkEval '{ ".gitattributes" = "regular"; a = "regular"; d = "directory"; link = "symlink"; run = "regular"; subst = "regular"; }' "builtins.readDir (builtins.fetchGit { url = $repo; rev = \"$first\"; })"
checkEval '0' "(builtins.fetchGit { url = $repo; shallow = true; }).revCount"
checkEval '"src"' "lib.name (builtins.fetchGit { url = $repo; name = \"src\"; }).outPath"
checkEval 'true' "let r = builtins.fetchGit $repo; in \"\${r}\" == r.outPath"
checkEval '[ { allOutputs = true; at = "foo.drv"; } ]' "lib.context (lib.drv { src = builtins.fetchGit $repo; }).drvPath"
checkEval 'true' "(builtins.fetchGit { url = $repo; narHash = \"sha256-IcalGX8rYzrNwJufAmscPIEOgvI951/JeMygVyiggfc=\"; revCount = 2; }).revCount == 2"

checkError "unsupported Git input attribute 'bogus'" "builtins.fetchGit { url = $repo; bogus = 1; }"
checkError "input attribute 'url' is missing" 'builtins.fetchGit { }'
checkError "unexpected attribute 'type'" "builtins.fetchGit { url = $repo; type = \"git\"; }"
checkError "fetchTree argument 'shallow' is a list while a string, Boolean or integer is expected" "builtins.fetchGit { url = $repo; shallow = [ ]; }"
checkError "input attribute 'shallow' is not a Boolean" "builtins.fetchGit { url = $repo; shallow = 1; }"
checkError "input attribute 'ref' is not a string \{\"ref\":true,\"type\":\"git\",\"url\":\"file://$repo\"\}" "builtins.fetchGit { url = $repo; ref = true; }"
checkError "input attribute 'revCount' is not an integer" "builtins.fetchGit { url = $repo; revCount = \"2\"; }"
checkError "invalid Git branch/tag name 'HEAD~1'" "builtins.fetchGit { url = $repo; ref = \"HEAD~1\"; }"
checkError "hash 'abc' has wrong length for hash type 'sha1'" "builtins.fetchGit { url = $repo; rev = \"abc\"; }"
checkError "hash 'sha256:x' is not SRI" "builtins.fetchGit { url = $repo; narHash = \"sha256:x\"; }"
checkError "file:// URL 'file://repo' has unexpected authority 'repo'" 'builtins.fetchGit "repo"'
checkError 'cannot coerce an integer to a string' 'builtins.fetchGit 1'
checkError "Cannot find Git revision '0123456789012345678901234567890123456789' in ref 'main' of repository '$repo'" "builtins.fetchGit { url = $repo; rev = \"0123456789012345678901234567890123456789\"; }"
checkError "program 'git' failed with exit code 128" "builtins.fetchGit { url = $repo; ref = \"nonexistent\"; }"
checkError "NAR hash mismatch in input 'git\+file://$repo' \(.*-source\), expected 'sha256-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=', got 'sha256-IcalGX8rYzrNwJufAmscPIEOgvI951/JeMygVyiggfc='" "builtins.fetchGit { url = $repo; narHash = \"\"; }"
checkError "'revCount' attribute mismatch in input 'git\+file://$repo\?ref=main&rev=$second', expected 7" "builtins.fetchGit { url = $repo; revCount = 7; }"
checkError "'lastModified' attribute mismatch in input 'git\+file://$repo\?ref=refs%2fheads%2ffeature&rev=$third', expected 5" "builtins.fetchGit { url = $repo; ref = \"refs/heads/feature\"; lastModified = 5; }"

# A bare repository, read as nix reads a clone: `ref` defaults to `master`.
git clone --quiet --bare "$repo" "$work/bare.git"
checkEval "\"$third\"" "(builtins.fetchGit { url = $work/bare.git; ref = \"feature\"; }).rev"
checkEval "\"$second\"" "(builtins.fetchGit { url = \"file://$work/bare.git\"; ref = \"main\"; }).rev"
checkError "program 'git' failed with exit code 128" "builtins.fetchGit $work/bare.git"
# (A commit fetched nowhere before: nix's fetcher cache would find one by its rev alone.)
checkError "Cannot find Git revision '$elsewhere' in ref 'main' of repository 'file://$work/bare.git'" "builtins.fetchGit { url = $work/bare.git; ref = \"main\"; rev = \"$elsewhere\"; }"

# A shallow clone needs `shallow = true`.
git clone --quiet --depth 1 "file://$repo" "$work/shallow"
checkError "'$work/shallow' is a shallow Git repository, but a non-shallow repository is needed" "builtins.fetchGit $work/shallow"
checkEval "[ \"$second\" 0 ]" "let r = builtins.fetchGit { url = $work/shallow; shallow = true; }; in [ r.rev r.revCount ]"

# A dirty working tree: its tracked files as they are, untracked ones left out, no revision.
echo changed >| "$repo/a"
echo untracked > "$repo/u"
rm "$repo/d/b"
checkEval "{ lastModified = 1609556645; lastModifiedDate = \"20210102030405\"; narHash = \"sha256-DaqdjBFsXqMBsjTN9ldoubYaZ+Zqp2BSSEfKjnQkTqc=\"; rev = \"0000000000000000000000000000000000000000\"; revCount = 0; shortRev = \"0000000\"; submodules = false; }" "removeAttrs (builtins.fetchGit $repo) [ \"outPath\" ]"
checkEval '"changed\n"' "builtins.readFile \"\${builtins.fetchGit $repo}/a\""
checkEval '{ ".gitattributes" = "regular"; a = "regular"; c = "regular"; d = "directory"; ign = "regular"; link = "symlink"; run = "regular"; subst = "regular"; }' "builtins.readDir (builtins.fetchGit $repo)"
checkEval '"$Format:%H$\n"' "builtins.readFile \"\${builtins.fetchGit $repo}/subst\""
checkEval "\"$second\"" "(builtins.fetchGit { url = $repo; ref = \"main\"; }).rev"
checkWarning "warning: Git tree '$repo' is dirty" "(builtins.fetchGit $repo).rev"
git -C "$repo" add u
checkEval '"untracked\n"' "builtins.readFile \"\${builtins.fetchGit $repo}/u\""

# A repository without commits.
mkdir "$work/empty"
git -C "$work/empty" init --quiet
echo new > "$work/empty/n"
git -C "$work/empty" add n
checkEval '[ 0 "19700101000000" "0000000000000000000000000000000000000000" { n = "regular"; } ]' "let r = builtins.fetchGit $work/empty; in [ r.lastModified r.lastModifiedDate r.rev (builtins.readDir r) ]"

# Submodules.
sub="$work/sub"
mkdir "$sub"
git -C "$sub" init --quiet --initial-branch=main
echo inside > "$sub/s"
git -C "$sub" add s
commitAt "$sub" 2020-05-06T07:08:09Z sub
super="$work/super"
mkdir "$super"
git -C "$super" init --quiet --initial-branch=main
echo top > "$super/t"
git -C "$super" submodule --quiet add "$sub" lib
git -C "$super" add .
commitAt "$super" 2020-05-06T07:08:09Z super
checkEval '{ }' "builtins.readDir \"\${builtins.fetchGit $super}/lib\""
checkEval '[ true { s = "regular"; } ]' "let r = builtins.fetchGit { url = $super; submodules = true; }; in [ r.submodules (builtins.readDir \"\${r}/lib\") ]"
checkEval '"inside\n"' "builtins.readFile \"\${builtins.fetchGit { url = $super; submodules = true; ref = \"main\"; }}/lib/s\""
echo changed >| "$super/lib/s"
checkEval '[ "0000000000000000000000000000000000000000" "changed\n" ]' "let r = builtins.fetchGit { url = $super; submodules = true; }; in [ r.rev (builtins.readFile \"\${r}/lib/s\") ]"
# Without `submodules`, a change inside one leaves the tree clean.
checkEval "\"$(git -C "$super" rev-parse HEAD)\"" "(builtins.fetchGit $super).rev"

cat <<EOF
====== store tests ======
$pass Pass
$fail Fail
EOF

if [ "$fail" -ne 0 ]; then
    exit 1
fi
exit 0
