//! The evaluator's store: `derivationStrict` turns a derivation value into a
//! [`kiln_store::Derivation`] in one shared [`Graph`] and names its output.
//!
//! Nix's rules, kiln's store:
//! - every attribute becomes an environment variable, converted as Nix does (`true` → `"1"`,
//!   `false`/`null` → `""`, lists space-separated, derivations by their `outPath`); `args` is the
//!   builder's argument list; `builder` names one of kiln's native builders (there is no shell);
//! - a path value (`./splash.png`), a path in a string (`"${./x}"`), `builtins.path` and
//!   `builtins.filterSource` add the file tree to the store by content: it is read once,
//!   through the evaluator's loader (so the embedded profile library works too), hashed, and
//!   becomes a fixed-output `copy-path` derivation keyed by that hash (kiln-builders' `source`).
//!   A changed byte is a new entry; an unchanged tree the same one. `toFile` is the same with a
//!   text, and `fetchGit` with the tree `git.rs` checks out. Such a source is written to the
//!   store at once in read-write mode (nix-instantiate's `--read-write-mode`), and a
//!   `fetchGit` tree always, as nix's fetchers write theirs; otherwise a build writes it;
//! - before a builtin reads a path, the store paths in its context must be in the store
//!   (`realise_context`, nix's `realiseContext`): nix's `path '…' is not valid` otherwise. kiln
//!   builds nothing while evaluating, so a derivation output must have been built before;
//! - a derivation's attributes are checked by its builder when it is recorded (types, and
//!   that every path it will read is inside one of its inputs), so a bad derivation is an
//!   evaluation error with a span, and nothing is registered;
//! - the inputs are read from the string contexts of all attributes: a string mentioning a
//!   derivation's `outPath` makes that derivation an input, exactly as in Nix;
//! - the id is the blake3 of the description (see `kiln_store::Derivation`), the output is
//!   `<store>/<base32 id>-<name>`, and `drvPath` is that name plus `.drv`: it names the
//!   derivation in contexts and messages but is not written to disk (kiln keeps derivations in
//!   memory and realises them in the same run).

use crate::error::HostError;
use kiln_builders::{hash_source, Registry, SourceTree, Sources, COPY_PATH};
use kiln_eval::{
    AddPath, Attrs, Coerce, Context, ErrorKind, EvalError, EvalResult, Evaluator, FetchGit,
    FetchedGit, FileType, NixString, Value,
};
use kiln_store::{Derivation, DrvId, Graph, Quiet, RealiseOptions, Store};
use sha2::Digest as _;
use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::rc::Rc;

/// The state one evaluation builds up.
#[derive(Default)]
pub(crate) struct Recorded {
    pub(crate) graph: Graph,
    /// `drvPath` → id, to turn contexts back into inputs.
    pub(crate) by_drv_path: BTreeMap<String, DrvId>,
    /// `outPath` → id (plain-path context elements).
    pub(crate) by_out_path: BTreeMap<String, DrvId>,
}

/// The [`kiln_eval::StoreHost`] of a session.
pub struct Host {
    store_dir: PathBuf,
    /// The session's store, where sources are written during evaluation (see
    /// [`Host::write_sources`]) and where `realise_context` looks.
    store: Store,
    /// Whether the session may write to its store at all (not in `kiln build --dry-run`).
    writable: bool,
    /// nix-instantiate's `--read-write-mode`: `toFile`, `builtins.path`, `filterSource` and
    /// paths in strings are written to the store as they are added, so that evaluation can read
    /// them back (`readFile`, `import`). Without it they are only computed, as nix's are.
    /// `fetchGit` writes its tree either way, as nix's fetchers do.
    write_sources: Cell<bool>,
    registry: Rc<Registry>,
    pub(crate) recorded: RefCell<Recorded>,
    pub(crate) sources: Sources,
}

impl Host {
    pub(crate) fn new(
        store: Store,
        writable: bool,
        registry: Rc<Registry>,
        sources: Sources,
    ) -> Host {
        Host {
            // Canonical already (or, for a dry run's missing store, absolute).
            store_dir: store.root().to_path_buf(),
            store,
            writable,
            write_sources: Cell::new(false),
            registry,
            recorded: RefCell::default(),
            sources,
        }
    }

    /// Turns nix-instantiate's `--read-write-mode` on or off (see the field).
    pub(crate) fn set_write_sources(&self, on: bool) {
        self.write_sources.set(on && self.writable);
    }

    /// Writes the entry of `id` (a source: its inputs are sources too) into the store now.
    fn write_entry(&self, id: DrvId) -> Result<(), kiln_store::StoreError> {
        let mut graph = Graph::new();
        {
            let recorded = self.recorded.borrow();
            for input in recorded.graph.closure(&[id])? {
                if let Some(drv) = recorded.graph.get(&input) {
                    graph.add(drv.clone());
                }
            }
        }
        let builders = self.registry.builders();
        let options = RealiseOptions {
            jobs: 1,
            offline: false,
            ..RealiseOptions::default()
        };
        kiln_store::realise(&self.store, &graph, &[id], &builders, &options, &Quiet)?;
        Ok(())
    }

    /// The store directory, as store paths spell it.
    pub(crate) fn store_dir(&self) -> &Path {
        &self.store_dir
    }

    /// Adds a derivation to the graph and returns its `(drvPath, outPath)`.
    pub(crate) fn record(&self, drv: Derivation) -> Result<(String, String), String> {
        let entry = drv
            .entry()
            .map_err(|e| nix_name_error(&drv).unwrap_or_else(|| e.to_string()))?;
        let out_path = self.store_dir.join(entry.as_str());
        let out_path = out_path.to_string_lossy().into_owned();
        let drv_path = format!("{out_path}.drv");
        let mut recorded = self.recorded.borrow_mut();
        let id = recorded.graph.add(drv);
        recorded.by_drv_path.insert(drv_path.clone(), id);
        recorded.by_out_path.insert(out_path.clone(), id);
        Ok((drv_path, out_path))
    }

    /// The derivation ids a string's context names.
    pub(crate) fn inputs_of(
        &self,
        context: &Context,
        into: &mut BTreeSet<DrvId>,
    ) -> Result<(), String> {
        let Some(context) = context else {
            return Ok(());
        };
        let recorded = self.recorded.borrow();
        for element in context.iter() {
            let id = if let Some(drv_path) = element.strip_prefix('=') {
                recorded.by_drv_path.get(drv_path)
            } else if let Some(rest) = element.strip_prefix('!') {
                rest.split_once('!')
                    .and_then(|(_, drv_path)| recorded.by_drv_path.get(drv_path))
            } else {
                recorded.by_out_path.get(&**element)
            };
            match id {
                Some(id) => {
                    into.insert(*id);
                }
                None => {
                    return Err(format!(
                        "a string refers to `{element}`, which no derivation of this evaluation produces"
                    ))
                }
            }
        }
        Ok(())
    }

    /// Derivation values → the ids their `outPath`s name (what `kiln build` realises).
    pub(crate) fn ids_of(&self, context: &Context) -> Result<Vec<DrvId>, String> {
        let mut ids = BTreeSet::new();
        self.inputs_of(context, &mut ids)?;
        Ok(ids.into_iter().collect())
    }

    /// The out paths of `ids`, as a builder sees its inputs.
    fn out_paths(&self, ids: &[DrvId]) -> Vec<PathBuf> {
        let recorded = self.recorded.borrow();
        ids.iter()
            .filter_map(|id| recorded.graph.get(id))
            .filter_map(|drv| drv.entry().ok())
            .map(|entry| self.store_dir.join(entry.as_str()))
            .collect()
    }

    /// Records a source tree as a `copy-path` derivation (written to the store at once in
    /// read-write mode); its store path with its context.
    fn add_source(
        &self,
        name: &str,
        tree: SourceTree,
        references: Vec<DrvId>,
    ) -> EvalResult<NixString> {
        let (path, id) = self
            .record_source(name, tree, references)
            .map_err(|m| EvalError::invalid_argument("path", m))?;
        if self.write_sources.get() {
            self.write_entry(id).map_err(|e| host_error(&e))?;
        }
        Ok(path)
    }

    /// Records a source tree as a `copy-path` derivation; its store path and id.
    fn record_source(
        &self,
        name: &str,
        tree: SourceTree,
        references: Vec<DrvId>,
    ) -> Result<(NixString, DrvId), String> {
        let mut drv = Derivation::new(name, COPY_PATH);
        drv.fixed_output = Some(format!("blake3-tree:{}", hash_source(&tree).to_hex()));
        drv.inputs = references;
        let id = drv.id();
        let (_, out_path) = self.record(drv)?;
        self.sources
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(id, tree);
        let context: BTreeSet<Box<str>> = [out_path.clone().into_boxed_str()].into_iter().collect();
        Ok((
            NixString::with_context(out_path, Some(Box::new(context))),
            id,
        ))
    }

    /// One attribute's environment string, as Nix converts it.
    fn env_string(
        &self,
        ev: &mut Evaluator,
        value: &Value,
        context: &mut Context,
    ) -> EvalResult<String> {
        let value = ev.force(value)?;
        let text = match &value {
            Value::Path(path) => {
                let s = kiln_eval::StoreHost::add_path(self, ev, &AddPath::new(path.as_str()))?;
                NixString::merge_context(context, s.context());
                s.as_str().to_string()
            }
            Value::List(items) => {
                let mut parts = Vec::with_capacity(items.len());
                for item in items.iter() {
                    parts.push(self.env_string(ev, item, context)?);
                }
                parts.join(" ")
            }
            Value::Bool(true) => "1".to_string(),
            Value::Bool(false) | Value::Null => String::new(),
            _ => {
                let s = ev.coerce_to_string(&value, Coerce::ToString)?;
                NixString::merge_context(context, s.context());
                s.as_str().to_string()
            }
        };
        Ok(text)
    }
}

/// A store diagnostic as an evaluation error, keeping its code and help.
pub(crate) fn host_error(diagnostic: &dyn miette::Diagnostic) -> EvalError {
    EvalError::new(ErrorKind::Host {
        code: diagnostic
            .code()
            .map_or_else(|| "kiln::driver::host".to_string(), |c| c.to_string()),
        message: diagnostic.to_string(),
        help: diagnostic.help().map(|h| h.to_string()),
    })
}

impl kiln_eval::StoreHost for Host {
    fn derivation_strict(&self, ev: &mut Evaluator, attrs: &Attrs) -> EvalResult<Value> {
        let bad = |message: String| EvalError::invalid_argument("derivation", message);
        let name_value = attrs
            .get_str("name")
            .cloned()
            .ok_or_else(|| bad("attribute 'name' missing for call to 'derivationStrict'".into()))?;
        let name = ev.force_string(&name_value)?.as_str().to_string();
        let bad_here = |message: String| bad(format!("derivation `{name}`: {message}"));
        if let Some(outputs) = attrs.get_str("outputs") {
            let outputs = ev.force_list(outputs)?;
            let mut names = Vec::new();
            for output in outputs.iter() {
                names.push(ev.force_string(output)?.as_str().to_string());
            }
            if names != ["out"] {
                return Err(bad_here(format!(
                    "outputs {names:?}: kiln's derivations have the single output `out`"
                )));
            }
        }
        let ignore_nulls = match attrs.get_str("__ignoreNulls") {
            Some(v) => ev.force_bool(v)?,
            None => false,
        };
        let mut context: Context = None;
        let mut drv = Derivation::new(name.clone(), String::new());
        for entry in attrs.iter() {
            let key = entry.name.as_str();
            if key == "__ignoreNulls" {
                continue;
            }
            if ignore_nulls && matches!(ev.force(&entry.value)?, Value::Null) {
                continue;
            }
            let frame =
                || format!("while evaluating the attribute `{key}` of the derivation `{name}`");
            if key == "args" {
                let list = ev
                    .force_list(&entry.value)
                    .map_err(|e| e.frame(None, frame))?;
                for arg in list.iter() {
                    let text = self
                        .env_string(ev, arg, &mut context)
                        .map_err(|e| e.frame(None, frame))?;
                    drv.args.push(text);
                }
                continue;
            }
            let text = self
                .env_string(ev, &entry.value, &mut context)
                .map_err(|e| e.frame(None, frame))?;
            drv.env.insert(key.to_string(), text);
        }
        let builder = drv.env.get("builder").cloned().unwrap_or_default();
        if builder.is_empty() {
            return Err(bad("required attribute 'builder' missing".into()));
        }
        let names = Registry::names();
        if !names.contains(builder.as_str()) {
            let known: Vec<&str> = names.iter().copied().collect();
            return Err(bad_here(format!(
                "unknown builder `{builder}`; kiln's builders are native: {}",
                known.join(", ")
            )));
        }
        drv.builder_version = Registry::version(&builder);
        drv.builder = builder;
        if let Some(hash) = drv.env.get("outputHash") {
            let algo = drv
                .env
                .get("outputHashAlgo")
                .map_or("sha256", String::as_str);
            drv.fixed_output = Some(format!("{algo}:{hash}"));
        }
        let mut inputs = BTreeSet::new();
        self.inputs_of(&context, &mut inputs).map_err(bad_here)?;
        drv.inputs = inputs.into_iter().collect();
        // The builder reads its attributes now, so a bad derivation fails here, with a span,
        // rather than halfway through a build.
        if let Err(err) = self.registry.check(&drv, &self.out_paths(&drv.inputs)) {
            // Point at the attribute the builder refused (`contents = …` in the module that
            // wrote the derivation), not at `derivation`'s internals.
            let pos = err
                .downcast_ref::<kiln_store::inputs::InputError>()
                .and_then(|input| {
                    let top = input.attribute.split(['[', '.', ':']).next().unwrap_or("");
                    attrs.entry(kiln_eval::Symbol::intern(top))
                })
                .and_then(|entry| entry.pos);
            let err = host_error(&err);
            return Err(match pos {
                Some(span) => err.at(span),
                None => err,
            });
        }
        let (drv_path, out_path) = self.record(drv).map_err(bad)?;
        Ok(outputs_value(&drv_path, &out_path))
    }

    fn add_path(&self, ev: &mut Evaluator, request: &AddPath) -> EvalResult<NixString> {
        let path = Path::new(&request.path);
        let name = match &request.name {
            Some(name) => name.clone(),
            None => path.file_name().map_or_else(
                || "source".to_string(),
                |n| n.to_string_lossy().into_owned(),
            ),
        };
        let tree = if request.recursive {
            read_source(ev, path, request.filter.as_ref())?
        } else {
            match ev.loader().file_type(path) {
                Ok(FileType::Regular) => SourceTree::File {
                    bytes: ev
                        .loader()
                        .read_file(path)
                        .map_err(|e| io_error(path, &e))?,
                    executable: false,
                },
                Ok(_) => {
                    return Err(EvalError::invalid_argument(
                        "path",
                        format!("'{}' is not a regular file, so it cannot be added flat (recursive = false)", path.display()),
                    ))
                }
                Err(e) => return Err(io_error(path, &e)),
            }
        };
        if let Some(expected) = &request.sha256 {
            let expected =
                parse_sha256(expected).map_err(|m| EvalError::invalid_argument("path", m))?;
            let actual = if request.recursive {
                nar_sha256(&tree)
            } else {
                match &tree {
                    SourceTree::File { bytes, .. } => sha2::Sha256::digest(bytes).into(),
                    _ => nar_sha256(&tree),
                }
            };
            if actual != expected {
                return Err(EvalError::invalid_argument(
                    "path",
                    format!(
                        "store path mismatch in (possibly filtered) path added from '{}'",
                        path.display()
                    ),
                ));
            }
        }
        self.add_source(&name, tree, Vec::new())
    }

    fn add_text(&self, _ev: &mut Evaluator, name: &str, text: &NixString) -> EvalResult<NixString> {
        let bad = |message: String| EvalError::invalid_argument("toFile", message);
        if let Some(context) = text.context() {
            if let Some(output) = context
                .iter()
                .find(|e| e.starts_with('!') || e.starts_with('='))
            {
                return Err(bad(format!(
                    "in 'toFile': the file named '{name}' must not contain a reference to a derivation but contains ({output})"
                )));
            }
        }
        let mut references = BTreeSet::new();
        self.inputs_of(text.context(), &mut references)
            .map_err(bad)?;
        let tree = SourceTree::File {
            bytes: text.as_str().as_bytes().to_vec(),
            executable: false,
        };
        self.add_source(name, tree, references.into_iter().collect())
            .map_err(|e| match e.kind() {
                ErrorKind::InvalidArgument { message, .. } => bad(message.clone()),
                _ => e,
            })
    }

    fn fetch_git(&self, ev: &mut Evaluator, request: &FetchGit) -> EvalResult<FetchedGit> {
        let checkout = crate::git::fetch(ev, request)?;
        let nar_hash = {
            use base64::Engine as _;
            let digest = nar_sha256(&checkout.tree);
            format!(
                "sha256-{}",
                base64::engine::general_purpose::STANDARD.encode(digest)
            )
        };
        let (out_path, id) = self
            .record_source(&request.name, checkout.tree, Vec::new())
            .map_err(|m| EvalError::invalid_argument("fetchGit", m))?;
        // nix adds a fetched tree to its store even in read-only mode, so evaluation can read it.
        if self.writable {
            self.write_entry(id).map_err(|e| host_error(&e))?;
        }
        Ok(FetchedGit {
            out_path,
            nar_hash,
            git_ref: checkout.git_ref,
            rev: checkout.rev,
            rev_count: checkout.rev_count,
            last_modified: checkout.last_modified,
        })
    }

    fn realise_context(&self, _ev: &mut Evaluator, context: &Context) -> EvalResult<()> {
        let Some(context) = context else {
            return Ok(());
        };
        for element in context.iter() {
            let drv_path = element.strip_prefix('=').or_else(|| {
                element
                    .strip_prefix('!')
                    .and_then(|r| r.split_once('!'))
                    .map(|(_, d)| d)
            });
            let present = match drv_path {
                // A derivation's output: present if it was built (kiln builds nothing while
                // evaluating; nix would build it here).
                Some(drv_path) => {
                    let id = self.recorded.borrow().by_drv_path.get(drv_path).copied();
                    let entry = id.and_then(|id| {
                        self.recorded
                            .borrow()
                            .graph
                            .get(&id)
                            .and_then(|d| d.entry().ok())
                    });
                    if !entry.is_some_and(|entry| self.store.contains(&entry)) {
                        return Err(host_error(&HostError::InvalidPath {
                            path: drv_path.to_string(),
                            help: "kiln does not build derivations during evaluation (import from derivation); build it with `kiln build` first",
                        }));
                    }
                    true
                }
                None => Path::new(&**element)
                    .strip_prefix(&self.store_dir)
                    .ok()
                    .and_then(|entry| kiln_store::EntryName::parse(&entry.to_string_lossy()).ok())
                    .is_some_and(|entry| self.store.contains(&entry)),
            };
            if !present {
                return Err(host_error(&HostError::InvalidPath {
                    path: element.to_string(),
                    help: "a source (`toFile`, `builtins.path`, a path in a string) is written to the store during evaluation only with `--read-write-mode`, as nix-instantiate's; `kiln build` writes it",
                }));
            }
        }
        Ok(())
    }
}

/// `{ drvPath; out; }` with Nix's context encodings.
pub(crate) fn outputs_value(drv_path: &str, out_path: &str) -> Value {
    Value::Attrs(Attrs::from_entries(vec![
        crate::attr("drvPath", Value::String(drv_path_string(drv_path))),
        crate::attr("out", Value::String(out_path_string(drv_path, out_path))),
    ]))
}

pub(crate) fn drv_path_string(drv_path: &str) -> NixString {
    let context: BTreeSet<Box<str>> = [format!("={drv_path}").into_boxed_str()]
        .into_iter()
        .collect();
    NixString::with_context(drv_path.to_string(), Some(Box::new(context)))
}

pub(crate) fn out_path_string(drv_path: &str, out_path: &str) -> NixString {
    let context: BTreeSet<Box<str>> = [format!("!out!{drv_path}").into_boxed_str()]
        .into_iter()
        .collect();
    NixString::with_context(out_path.to_string(), Some(Box::new(context)))
}

/// Nix 2.8's error for a store path name it refuses (`checkName`), with kiln's hash where nix
/// shows its own; `None` for a name nix accepts (kiln's store is stricter: no leading `.`, at
/// most 200 bytes, and its own error says so).
fn nix_name_error(drv: &Derivation) -> Option<String> {
    let name = &drv.name;
    let path = format!("{}-{name}", drv.id().0.to_store_base32());
    if name.is_empty() {
        return Some(format!("store path '{path}' has an empty name"));
    }
    if name.len() > 211 {
        return Some(format!(
            "store path '{path}' has a name longer than 211 characters"
        ));
    }
    name.chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "+-._?=".contains(*c)))
        .map(|c| format!("store path '{path}' contains illegal character '{c}'"))
}

/// Nix's error for a path that cannot be read.
fn io_error(path: &Path, err: &std::io::Error) -> EvalError {
    let message = match err.kind() {
        std::io::ErrorKind::NotFound => "No such file or directory".to_string(),
        _ => err.to_string(),
    };
    EvalError::new(ErrorKind::Io {
        operation: "getting status of",
        path: path.display().to_string(),
        message,
    })
}

/// Nix's file types, as `builtins.readDir` and a path filter see them.
fn type_name(kind: FileType) -> &'static str {
    match kind {
        FileType::Regular => "regular",
        FileType::Directory => "directory",
        FileType::Symlink => "symlink",
        FileType::Unknown => "unknown",
    }
}

/// Reads the tree at `path` through the evaluator's loader; `filter path type` decides for
/// every entry below it (a directory it refuses is not entered), as in Nix.
fn read_source(ev: &mut Evaluator, path: &Path, filter: Option<&Value>) -> EvalResult<SourceTree> {
    let Some(filter) = filter else {
        return read_tree(ev, path, &mut |_, _, _| Ok(true));
    };
    read_tree(ev, path, &mut |ev, child, kind| {
        let full = Value::string(child.to_string_lossy().into_owned());
        let applied = ev.call(filter, full)?;
        let keep = ev.call(&applied, Value::string(type_name(kind)))?;
        ev.force_bool(&keep)
    })
}

/// What decides, for each entry below the root of a tree being read, whether it is kept.
pub(crate) type Keep<'a> = dyn FnMut(&mut Evaluator, &Path, FileType) -> EvalResult<bool> + 'a;

/// Reads the tree at `path` through the evaluator's loader, keeping the entries below it that
/// `keep` accepts (a directory it refuses is not entered).
pub(crate) fn read_tree(
    ev: &mut Evaluator,
    path: &Path,
    keep: &mut Keep<'_>,
) -> EvalResult<SourceTree> {
    let kind = ev
        .loader()
        .file_type(path)
        .map_err(|e| io_error(path, &e))?;
    Ok(match kind {
        FileType::Directory => {
            let mut listing = ev.loader().read_dir(path).map_err(|e| io_error(path, &e))?;
            listing.sort_by(|a, b| a.0.cmp(&b.0));
            let mut entries = BTreeMap::new();
            for (name, kind) in listing {
                let child = path.join(&name);
                if !keep(ev, &child, kind)? {
                    continue;
                }
                entries.insert(name, read_tree(ev, &child, keep)?);
            }
            SourceTree::Dir(entries)
        }
        FileType::Symlink => SourceTree::Symlink(
            ev.loader()
                .read_link(path)
                .map_err(|e| io_error(path, &e))?,
        ),
        FileType::Regular => SourceTree::File {
            bytes: ev
                .loader()
                .read_file(path)
                .map_err(|e| io_error(path, &e))?,
            executable: ev.loader().is_executable(path),
        },
        FileType::Unknown => {
            return Err(EvalError::invalid_argument(
                "path",
                format!("file '{}' has an unsupported type", path.display()),
            ))
        }
    })
}

/// The SHA-256 of a tree's NAR serialisation (Nix's `narHash`), for `builtins.path`'s `sha256`.
fn nar_sha256(tree: &SourceTree) -> [u8; 32] {
    fn str(hasher: &mut sha2::Sha256, bytes: &[u8]) {
        hasher.update((bytes.len() as u64).to_le_bytes());
        hasher.update(bytes);
        let pad = (8 - bytes.len() % 8) % 8;
        hasher.update(&[0u8; 8][..pad]);
    }
    fn node(hasher: &mut sha2::Sha256, tree: &SourceTree) {
        str(hasher, b"(");
        str(hasher, b"type");
        match tree {
            SourceTree::File { bytes, executable } => {
                str(hasher, b"regular");
                if *executable {
                    str(hasher, b"executable");
                    str(hasher, b"");
                }
                str(hasher, b"contents");
                str(hasher, bytes);
            }
            SourceTree::Symlink(target) => {
                str(hasher, b"symlink");
                str(hasher, b"target");
                str(hasher, target.as_bytes());
            }
            SourceTree::Dir(entries) => {
                str(hasher, b"directory");
                for (name, entry) in entries {
                    str(hasher, b"entry");
                    str(hasher, b"(");
                    str(hasher, b"name");
                    str(hasher, name.as_bytes());
                    str(hasher, b"node");
                    node(hasher, entry);
                    str(hasher, b")");
                }
            }
        }
        str(hasher, b")");
    }
    let mut hasher = sha2::Sha256::new();
    str(&mut hasher, b"nix-archive-1");
    node(&mut hasher, tree);
    hasher.finalize().into()
}

/// A SHA-256 as Nix writes it: 64 hex digits, 52 of Nix's base 32, or SRI `sha256-<base64>`.
fn parse_sha256(text: &str) -> Result<[u8; 32], String> {
    let bad = || format!("hash '{text}' is not a SHA-256 in base 16, Nix's base 32, or SRI form");
    let bytes = if let Some(b64) = text.strip_prefix("sha256-") {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD
            .decode(b64)
            .map_err(|_| bad())?
    } else {
        let text = text.strip_prefix("sha256:").unwrap_or(text);
        match text.len() {
            64 => (0..32)
                .map(|i| u8::from_str_radix(&text[2 * i..2 * i + 2], 16))
                .collect::<Result<Vec<u8>, _>>()
                .map_err(|_| bad())?,
            52 => nix_base32::from_nix_base32(text).ok_or_else(bad)?,
            _ => return Err(bad()),
        }
    };
    bytes.try_into().map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nar_hash_matches_nix() {
        // `nix-hash --type sha256 --base32` of a file holding "hello\n" and of a directory
        // holding it as `a` (computed with nix 2.8).
        let file = SourceTree::File {
            bytes: b"hello\n".to_vec(),
            executable: false,
        };
        let dir = SourceTree::Dir([("a".to_string(), file.clone())].into());
        assert_eq!(nix_base32::to_nix_base32(&nar_sha256(&file)), NAR_FILE);
        assert_eq!(nix_base32::to_nix_base32(&nar_sha256(&dir)), NAR_DIR);
    }

    const NAR_FILE: &str = "04zwf782yjwnh3q6hz5izfd6jyip8kgw6g6yj43fiqhbyhdd0dqw";
    const NAR_DIR: &str = "18l2zj8v9v7ywhnxhbvn50dldj0h6nzfi1nii2xd79nkj6ivx2cm";

    #[test]
    fn sha256_in_every_spelling() {
        let digest: [u8; 32] = sha2::Sha256::digest(b"x").into();
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        let base32 = nix_base32::to_nix_base32(&digest);
        use base64::Engine as _;
        let sri = format!(
            "sha256-{}",
            base64::engine::general_purpose::STANDARD.encode(digest)
        );
        for spelling in [hex.clone(), format!("sha256:{hex}"), base32, sri] {
            assert_eq!(parse_sha256(&spelling), Ok(digest), "{spelling}");
        }
        assert!(parse_sha256("abc").is_err());
    }
}
