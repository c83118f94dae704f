//! One-line documentation of every builtin, for the REPL's `:doc` (Nix 2.8 shows the manual's
//! text there; kiln keeps a short table instead of the whole manual).
//!
//! A table beside the family tables rather than a `doc` field on [`Builtin`](super::Builtin),
//! so that adding a builtin does not need this file first; a test checks that every builtin
//! has an entry here.

/// The documentation of a builtin: how it is called and what it does.
#[derive(Clone, Copy, Debug)]
pub struct BuiltinDoc {
    /// The name in the `builtins` set.
    pub name: &'static str,
    /// The argument names, as in Nix's manual (`"f list"`); empty for a constant.
    pub args: &'static str,
    /// One sentence.
    pub doc: &'static str,
}

/// The documentation of the builtin `name` (without `builtins.` or `__`).
pub fn doc(name: &str) -> Option<&'static BuiltinDoc> {
    DOCS.iter().find(|d| d.name == name)
}

macro_rules! docs {
    ($($name:literal [$args:literal] $doc:literal;)*) => {
        &[$(BuiltinDoc { name: $name, args: $args, doc: $doc }),*]
    };
}

/// Sorted by name.
const DOCS: &[BuiltinDoc] = docs! {
    "abort" ["s"] "Aborts evaluation with the message `s`; unlike `throw`, `tryEval` does not catch it.";
    "add" ["e1 e2"] "The sum of the numbers `e1` and `e2`.";
    "addErrorContext" ["context value"] "Returns `value`, adding `context` to the trace of any error it raises.";
    "all" ["pred list"] "Whether `pred` is true for every element of `list`.";
    "any" ["pred list"] "Whether `pred` is true for at least one element of `list`.";
    "appendContext" ["s context"] "The string `s` with the string context `context` added.";
    "attrNames" ["set"] "The names of the attributes of `set`, sorted.";
    "attrValues" ["set"] "The values of the attributes of `set`, in the order of their sorted names.";
    "baseNameOf" ["s"] "The last component of the path or string `s`.";
    "bitAnd" ["e1 e2"] "The bitwise AND of the integers `e1` and `e2`.";
    "bitOr" ["e1 e2"] "The bitwise OR of the integers `e1` and `e2`.";
    "bitXor" ["e1 e2"] "The bitwise XOR of the integers `e1` and `e2`.";
    "catAttrs" ["attr list"] "The values of the attribute `attr` of the sets in `list` that have it.";
    "ceil" ["number"] "The smallest integer not less than `number`.";
    "compareVersions" ["s1 s2"] "-1, 0 or 1 as the version `s1` is older than, equal to or newer than `s2`.";
    "concatLists" ["lists"] "The concatenation of a list of lists.";
    "concatMap" ["f list"] "`concatLists (map f list)`.";
    "concatStringsSep" ["separator list"] "The strings of `list` joined with `separator` between them.";
    "currentSystem" [""] "The system type kiln evaluates for, such as `\"x86_64-linux\"`.";
    "currentTime" [""] "The time evaluation started, in seconds since the Unix epoch.";
    "deepSeq" ["e1 e2"] "Evaluates `e1` completely (inside lists and sets), then returns `e2`.";
    "derivation" ["attrs"] "A derivation: a build of `builder` with `args` for `system`, described by `attrs`.";
    "derivationStrict" ["attrs"] "The primitive behind `derivation`: returns the output paths of the derivation described by `attrs`.";
    "dirOf" ["s"] "The directory part of the path or string `s`.";
    "div" ["e1 e2"] "The quotient of the numbers `e1` and `e2` (integer division for integers).";
    "elem" ["x xs"] "Whether `x` is an element of the list `xs`.";
    "elemAt" ["xs n"] "The element of the list `xs` at index `n`, counting from 0.";
    "false" [""] "The Boolean false.";
    "fetchGit" ["args"] "Fetches a Git repository (needs the store).";
    "fetchMercurial" ["args"] "Fetches a Mercurial repository (needs the store).";
    "fetchTarball" ["args"] "Downloads and unpacks a tarball (needs the store).";
    "fetchTree" ["input"] "Fetches a source tree (needs the store).";
    "fetchurl" ["url"] "Downloads a file (needs the store).";
    "filter" ["f list"] "The elements of `list` for which `f` returns true.";
    "filterSource" ["pred path"] "Copies `path` into the store, keeping the files for which `pred` is true.";
    "findFile" ["search-path lookup"] "Looks `lookup` up in a search path, as `<lookup>` does.";
    "floor" ["number"] "The largest integer not greater than `number`.";
    "foldl'" ["op nul list"] "Reduces `list` from the left with `op`, starting at `nul`, forcing each intermediate result.";
    "fromJSON" ["e"] "The Nix value of the JSON string `e`.";
    "fromTOML" ["e"] "The Nix value of the TOML string `e`.";
    "functionArgs" ["f"] "The formal arguments of `f`, each mapped to whether it has a default.";
    "genList" ["generator length"] "The list `[ (generator 0) ... (generator (length - 1)) ]`.";
    "genericClosure" ["attrset"] "The closure of `startSet` under `operator`, keeping the first element of each `key`.";
    "getAttr" ["s set"] "The attribute named `s` of `set`.";
    "getContext" ["s"] "The string context of `s`, as a set.";
    "getEnv" ["s"] "The value of the environment variable `s`, or `\"\"` when it is not set.";
    "groupBy" ["f list"] "The elements of `list` grouped into a set by the name `f` gives each.";
    "hasAttr" ["s set"] "Whether `set` has an attribute named `s`.";
    "hasContext" ["s"] "Whether the string `s` has a non-empty context.";
    "hashFile" ["type p"] "The hash (`md5`, `sha1`, `sha256` or `sha512`) of the file `p`, in base 16.";
    "hashString" ["type s"] "The hash (`md5`, `sha1`, `sha256` or `sha512`) of the string `s`, in base 16.";
    "head" ["list"] "The first element of `list`.";
    "import" ["path"] "Evaluates the Nix file at `path` (its `default.nix` for a directory).";
    "intersectAttrs" ["e1 e2"] "The attributes of `e2` whose names are also in `e1`.";
    "isAttrs" ["e"] "Whether `e` is a set.";
    "isBool" ["e"] "Whether `e` is a Boolean.";
    "isFloat" ["e"] "Whether `e` is a float.";
    "isFunction" ["e"] "Whether `e` is a function.";
    "isInt" ["e"] "Whether `e` is an integer.";
    "isList" ["e"] "Whether `e` is a list.";
    "isNull" ["e"] "Whether `e` is null (deprecated: write `e == null`).";
    "isPath" ["e"] "Whether `e` is a path.";
    "isString" ["e"] "Whether `e` is a string.";
    "langVersion" [""] "The version of the Nix language (6 for Nix 2.8).";
    "length" ["e"] "The number of elements of the list `e`.";
    "lessThan" ["e1 e2"] "Whether `e1 < e2`.";
    "listToAttrs" ["e"] "A set from a list of `{ name; value; }` sets; the first of equal names wins.";
    "map" ["f list"] "The list of `f` applied to each element of `list`.";
    "mapAttrs" ["f attrset"] "`attrset` with each attribute `name` set to `f name value`.";
    "match" ["regex str"] "The capture groups if the POSIX regex `regex` matches all of `str`, else null.";
    "mul" ["e1 e2"] "The product of the numbers `e1` and `e2`.";
    "nixPath" [""] "The search path (`-I` and `NIX_PATH`) as a list of `{ prefix; path; }`.";
    "nixVersion" [""] "The Nix version kiln follows, `\"2.8.0\"`.";
    "null" [""] "The null value.";
    "parseDrvName" ["s"] "Splits a package name such as `\"nix-0.12pre12876\"` into `{ name; version; }`.";
    "partition" ["pred list"] "`{ right; wrong; }`: the elements of `list` for which `pred` is true, and the others.";
    "path" ["args"] "Copies a path into the store, with an optional name, filter and hash.";
    "pathExists" ["path"] "Whether `path` exists.";
    "placeholder" ["output"] "The placeholder string that stands for the output path `output` inside a derivation.";
    "readDir" ["path"] "The entries of the directory `path`, each mapped to its type.";
    "readFile" ["path"] "The contents of the file `path`, as a string.";
    "removeAttrs" ["set list"] "`set` without the attributes named in `list`.";
    "replaceStrings" ["from to s"] "`s` with each occurrence of a string of `from` replaced by the string of `to` at the same index.";
    "scopedImport" ["scope path"] "Imports `path` with the attributes of `scope` added to its scope.";
    "seq" ["e1 e2"] "Evaluates `e1` (to weak head normal form), then returns `e2`.";
    "sort" ["comparator list"] "`list` sorted stably by the less-than function `comparator`.";
    "split" ["regex str"] "`str` split at the matches of the POSIX regex `regex`, with each match's capture groups as a list.";
    "splitVersion" ["s"] "The components of the version string `s`, as `compareVersions` sees them.";
    "storeDir" [""] "The store directory, `\"/nix/store\"`.";
    "storePath" ["path"] "`path`, which must be in the store, with its context.";
    "stringLength" ["e"] "The length of the string `e` in bytes.";
    "sub" ["e1 e2"] "The difference of the numbers `e1` and `e2`.";
    "substring" ["start len s"] "The part of `s` from byte `start` that is at most `len` bytes long.";
    "tail" ["list"] "`list` without its first element.";
    "throw" ["s"] "Fails evaluation with the message `s`; `tryEval` catches it.";
    "toFile" ["name s"] "Writes `s` to a store file called `name` and returns its path.";
    "toJSON" ["e"] "`e` as a JSON string.";
    "toPath" ["s"] "The absolute path `s` (deprecated: use `/. + s`).";
    "toString" ["e"] "`e` converted to a string, as string interpolation does, but also for numbers, Booleans, null and lists.";
    "toXML" ["e"] "`e` as an XML string, in the format of `nix-instantiate --eval --xml`.";
    "trace" ["e1 e2"] "Prints `e1` on standard error, then returns `e2`.";
    "true" [""] "The Boolean true.";
    "tryEval" ["e"] "`{ success = true; value = e; }`, or `{ success = false; value = false; }` if `e` throws or fails an assertion.";
    "typeOf" ["e"] "The type of `e`: `\"int\"`, `\"bool\"`, `\"string\"`, `\"path\"`, `\"null\"`, `\"set\"`, `\"list\"`, `\"lambda\"` or `\"float\"`.";
    "unsafeDiscardOutputDependency" ["s"] "`s` with the output dependencies of its context made plain path dependencies.";
    "unsafeDiscardStringContext" ["s"] "`s` without its string context.";
    "unsafeGetAttrPos" ["s set"] "`{ file; line; column; }` of the definition of the attribute `s` of `set`, or null.";
    "zipAttrsWith" ["f list"] "A set with each name found in the sets of `list` mapped to `f name [ values ]`.";
};

#[cfg(test)]
mod tests {
    #[test]
    fn every_builtin_is_documented() {
        for builtin in super::super::all() {
            assert!(
                super::doc(builtin.name).is_some(),
                "builtin `{}` has no entry in docs.rs",
                builtin.name
            );
        }
    }

    #[test]
    fn docs_are_sorted_and_unique() {
        for pair in super::DOCS.windows(2) {
            assert!(
                pair[0].name < pair[1].name,
                "`{}` and `{}` are out of order",
                pair[0].name,
                pair[1].name
            );
        }
    }
}
