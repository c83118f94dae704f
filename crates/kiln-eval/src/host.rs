//! The door through which a build driver gives the evaluator a store.
//!
//! Evaluation stays pure: kiln-eval never writes a store path itself. It asks the
//! [`StoreHost`] set with [`Evaluator::set_store_host`] to record a derivation and name its
//! outputs (`derivationStrict`), to add a file tree to the store by its content (a path
//! interpolated into a string, `builtins.path`, `builtins.filterSource`), to add a text
//! (`builtins.toFile`), to check out a local Git repository (`builtins.fetchGit`, whose
//! arguments kiln-eval checks itself, in `builtins/fetch_git.rs`), and to make sure the store
//! paths a string refers to are there before a builtin reads one (Nix's `realiseContext`).
//! Without a host these are `no_store`. `derivation` is Nix's own wrapper around
//! `derivationStrict` (Nix 2.8's `corepkgs/derivation.nix`), evaluated once per evaluator, so
//! the attributes of a derivation value stay as lazy as Nix's.

use crate::{Attrs, Context, EvalResult, Evaluator, NixString, Value};

/// What a build driver provides (see the module comment).
pub trait StoreHost {
    /// Records the derivation described by `attrs` (the argument of `derivationStrict`) and
    /// returns `{ drvPath; <output> = outPath; … }`, the strings carrying their context.
    fn derivation_strict(&self, ev: &mut Evaluator, attrs: &Attrs) -> EvalResult<Value>;

    /// Adds the file tree at `request.path` to the store by content and returns its store
    /// path, with the path itself as its context (Nix's `copyPathToStore`).
    fn add_path(&self, ev: &mut Evaluator, request: &AddPath) -> EvalResult<NixString>;

    /// `builtins.toFile name text`: a store file holding `text`; `text`'s context (store
    /// paths only, no derivation outputs) becomes the file's references.
    fn add_text(&self, ev: &mut Evaluator, name: &str, text: &NixString) -> EvalResult<NixString>;

    /// `builtins.fetchGit` of a local repository, its arguments checked: the tree (a commit's,
    /// or a dirty working tree's tracked files) added to the store by content.
    fn fetch_git(&self, ev: &mut Evaluator, request: &FetchGit) -> EvalResult<FetchedGit>;

    /// Nix's `realiseContext`: every store path `context` names must be in the store before a
    /// builtin reads a path under it (`readFile "${drv}/x"`, `import (toFile …)`); an error
    /// (nix's `path '…' is not valid`) if one is not.
    fn realise_context(&self, ev: &mut Evaluator, context: &Context) -> EvalResult<()>;
}

/// What `builtins.fetchGit` asks for, after kiln-eval has checked its arguments as nix 2.8 does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FetchGit {
    /// The repository's directory (a path, or a `file://` URL's path).
    pub path: String,
    /// `ref`: a branch or tag name (`main`, `refs/tags/v1`), checked against Git's rules.
    pub git_ref: Option<String>,
    /// `rev`: a commit, as 40 lowercase hexadecimal digits.
    pub rev: Option<String>,
    pub shallow: bool,
    pub submodules: bool,
    /// `allRefs`: `rev` may be on any ref, not only on `ref`.
    pub all_refs: bool,
    /// The store name (`name`, default `source`).
    pub name: String,
}

/// What a host found for a [`FetchGit`].
#[derive(Clone, Debug)]
pub struct FetchedGit {
    /// The store path of the tree, with itself as its context.
    pub out_path: NixString,
    /// The SHA-256 of the tree's NAR serialisation, in SRI form (`sha256-…`): the same as nix's
    /// for the same tree, whatever the store.
    pub nar_hash: String,
    /// The ref the commit came from; `None` for a working tree.
    pub git_ref: Option<String>,
    /// The commit; `None` for a dirty working tree (or a repository without commits).
    pub rev: Option<String>,
    /// The number of commits up to `rev`; `None` when dirty or `shallow`.
    pub rev_count: Option<u64>,
    /// The commit time of `rev` (of `HEAD` for a dirty tree; 0 without commits), in seconds.
    pub last_modified: u64,
}

/// What to add to the store (`builtins.path`'s arguments).
#[derive(Clone, Debug)]
pub struct AddPath {
    /// The absolute path to read.
    pub path: String,
    /// The store name; the path's base name when `None`.
    pub name: Option<String>,
    /// `filter path type`, called for every entry below `path`; `false` leaves it out.
    pub filter: Option<Value>,
    /// `false`: `path` must be a regular file, hashed flat (`builtins.path`'s `recursive`).
    pub recursive: bool,
    /// The SHA-256 the content must have (its NAR hash when recursive, the file's otherwise),
    /// in base 16, Nix's base 32, or SRI form.
    pub sha256: Option<String>,
}

impl AddPath {
    /// The plain case: the whole tree at `path`, named after it.
    pub fn new(path: impl Into<String>) -> AddPath {
        AddPath {
            path: path.into(),
            name: None,
            filter: None,
            recursive: true,
            sha256: None,
        }
    }
}

/// Nix 2.8's `derivation`, written in terms of `derivationStrict`.
const DERIVATION_NIX: &str = r#"drvAttrs @ { outputs ? [ "out" ], ... }:
let
  strict = builtins.derivationStrict drvAttrs;
  commonAttrs = drvAttrs // (builtins.listToAttrs outputsList) //
    { all = map (x: x.value) outputsList;
      inherit drvAttrs;
    };
  outputToAttrListElement = outputName:
    { name = outputName;
      value = commonAttrs // {
        outPath = builtins.getAttr outputName strict;
        drvPath = strict.drvPath;
        type = "derivation";
        inherit outputName;
      };
    };
  outputsList = map outputToAttrListElement outputs;
in (builtins.head outputsList).value
"#;

impl Evaluator {
    /// Gives this evaluator a store: `derivation`, `derivationStrict`, paths in strings and
    /// the store builtins start working.
    pub fn set_store_host(&mut self, host: std::rc::Rc<dyn StoreHost>) {
        self.host = Some(host);
    }

    /// Nix's `copyPathToStore` for a path value in a string context (`"${./x}"`, `toJSON`).
    pub(crate) fn copy_path_to_store(&mut self, path: &str) -> EvalResult<NixString> {
        self.add_path(&AddPath::new(path))
    }

    pub(crate) fn add_path(&mut self, request: &AddPath) -> EvalResult<NixString> {
        let Some(host) = self.host.clone() else {
            return Err(crate::EvalError::new(crate::ErrorKind::NoStore {
                what: "copying a path to the store",
            }));
        };
        host.add_path(self, request)
    }

    pub(crate) fn add_text(&mut self, name: &str, text: &NixString) -> EvalResult<NixString> {
        let Some(host) = self.host.clone() else {
            return Err(crate::EvalError::new(crate::ErrorKind::NoStore {
                what: "`toFile`",
            }));
        };
        host.add_text(self, name, text)
    }

    pub(crate) fn fetch_git(&mut self, request: &FetchGit) -> EvalResult<FetchedGit> {
        let Some(host) = self.host.clone() else {
            return Err(crate::EvalError::new(crate::ErrorKind::NoStore {
                what: "`fetchGit`",
            }));
        };
        host.fetch_git(self, request)
    }

    /// Coerces a value to the absolute path a builtin is about to read, as Nix's `realisePath`:
    /// the store paths its context names must be in the store (without a host, a string has
    /// no store paths to check).
    pub(crate) fn realise_path(&mut self, value: &Value) -> EvalResult<String> {
        let s = self.coerce_to_string(value, crate::Coerce::KeepPaths)?;
        if s.has_context() {
            if let Some(host) = self.host.clone() {
                host.realise_context(self, s.context())?;
            }
        }
        self.check_absolute(s.as_str())?;
        Ok(s.as_str().to_string())
    }

    pub(crate) fn derivation_strict(&mut self, arg: &Value) -> EvalResult<Value> {
        let Some(host) = self.host.clone() else {
            return Err(crate::EvalError::new(crate::ErrorKind::NoStore {
                what: "`derivationStrict`",
            }));
        };
        let attrs = self.force_attrs(arg)?;
        host.derivation_strict(self, &attrs)
    }

    pub(crate) fn derivation(&mut self, arg: &Value) -> EvalResult<Value> {
        if self.host.is_none() {
            return Err(crate::EvalError::new(crate::ErrorKind::NoStore {
                what: "`derivation`",
            }));
        }
        let func = match &self.derivation_fn {
            Some(func) => func.clone(),
            None => {
                let file = self.sources.add_virtual(
                    "<kiln/derivation.nix>",
                    std::path::Path::new("/"),
                    DERIVATION_NIX,
                );
                let func = self.eval_source(file)?;
                self.derivation_fn = Some(func.clone());
                func
            }
        };
        self.call(&func, arg.clone())
    }
}
