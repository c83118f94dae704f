//! nix's built-in `corepkgs`: `<nix/fetchurl.nix>` resolves to `/__corepkgs__/fetchurl.nix`
//! whatever the search path holds (nix's last resort for a `nix/` prefix), and importing it
//! gives the fixed-output fetcher behind nixpkgs' bootstrap `fetchurl`.
//!
//! The file is kiln's own text with nix 2.8's interface: the same arguments and defaults
//! (`builtins.functionArgs` agrees) and a `derivation` with the `builtin:fetchurl` builder and
//! the attributes nix gives it. Building it needs a store, as every `derivation` does.

/// The directory nix 2.8 serves its corepkgs from; nothing on disk is read there.
pub(crate) const DIR: &str = "/__corepkgs__";

/// The text of a corepkgs file, for a path under [`DIR`].
pub(crate) fn file(path: &str) -> Option<&'static str> {
    match path.strip_prefix(DIR)? {
        "/fetchurl.nix" => Some(FETCHURL),
        _ => None,
    }
}

const FETCHURL: &str = r#"# nix 2.8's <nix/fetchurl.nix>, as kiln provides it: a fixed-output download.
{ system ? ""
, url
, hash ? ""
, md5 ? ""
, sha1 ? ""
, sha256 ? ""
, sha512 ? ""
  # An SRI `hash` wins; then the legacy hashes, strongest first, sha256 last.
, outputHash ?
    if hash != "" then hash
    else if sha512 != "" then sha512
    else if sha1 != "" then sha1
    else if md5 != "" then md5
    else sha256
, outputHashAlgo ?
    if hash != "" then ""
    else if sha512 != "" then "sha512"
    else if sha1 != "" then "sha1"
    else if md5 != "" then "md5"
    else "sha256"
, executable ? false
, unpack ? false
, name ? baseNameOf (toString url)
}:
derivation {
  builder = "builtin:fetchurl";
  system = "builtin";
  inherit name url executable unpack outputHash outputHashAlgo;
  outputHashMode = if unpack || executable then "recursive" else "flat";
  urls = [ url ];
  preferLocalBuild = true;
  # A fixed-output download may see the caller's proxy settings.
  impureEnvVars = [ "http_proxy" "https_proxy" "ftp_proxy" "all_proxy" "no_proxy" ];
}
"#;
