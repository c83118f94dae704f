//! The evaluator's store: `derivationStrict` turns a derivation value into a
//! [`kiln_store::Derivation`] in one shared [`Graph`] and names its output.
//!
//! Nix's rules, kiln's store:
//! - every attribute becomes an environment variable, converted as Nix does (`true` → `"1"`,
//!   `false`/`null` → `""`, lists space-separated, derivations by their `outPath`); `args` is the
//!   builder's argument list; `builder` names one of kiln's native builders (there is no shell);
//! - a path value (`./splash.png`) is copied into the store as a content-addressed source,
//!   read through the evaluator's loader, so the embedded profile library works too;
//! - the inputs are read from the string contexts of all attributes: a string mentioning a
//!   derivation's `outPath` makes that derivation an input, exactly as in Nix;
//! - the id is the blake3 of the description (see `kiln_store::Derivation`), the output is
//!   `<store>/<base32 id>-<name>`, and `drvPath` is that name plus `.drv`: it names the
//!   derivation in contexts and messages but is not written to disk (kiln keeps derivations in
//!   memory and realises them in the same run).

use kiln_eval::{Attrs, Coerce, Context, EvalError, EvalResult, Evaluator, NixString, Value};
use kiln_store::{Derivation, Digest, DrvId, Graph};
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// The builder name of sources copied from paths (see [`CopyPath`](crate::builders::CopyPath)).
pub(crate) const COPY_PATH: &str = "copy-path";

/// A source file tree read at evaluation time, waiting to be written into the store.
#[derive(Clone, Debug)]
pub(crate) enum SourceTree {
    File { bytes: Vec<u8>, executable: bool },
    Dir(BTreeMap<String, SourceTree>),
    Symlink(String),
}

/// Sources by the id of the derivation that writes them.
pub(crate) type Sources = Arc<Mutex<BTreeMap<DrvId, SourceTree>>>;

/// The state one evaluation builds up.
#[derive(Default)]
pub(crate) struct Recorded {
    pub(crate) graph: Graph,
    /// `drvPath` → id, to turn contexts back into inputs.
    pub(crate) by_drv_path: BTreeMap<String, DrvId>,
    /// `outPath` → id (plain-path context elements).
    pub(crate) by_out_path: BTreeMap<String, DrvId>,
}

/// The [`kiln_eval::StoreHost`] of a build.
pub struct Host {
    store_dir: PathBuf,
    builders: BTreeSet<&'static str>,
    pub(crate) recorded: RefCell<Recorded>,
    pub(crate) sources: Sources,
}

impl Host {
    pub(crate) fn new(store_dir: PathBuf, builders: BTreeSet<&'static str>) -> Host {
        Host {
            store_dir,
            builders,
            recorded: RefCell::default(),
            sources: Sources::default(),
        }
    }

    /// Adds a derivation to the graph and returns its `(drvPath, outPath)`.
    pub(crate) fn record(&self, drv: Derivation) -> Result<(String, String), String> {
        let entry = drv.entry().map_err(|e| e.to_string())?;
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

    fn copy_path(&self, ev: &mut Evaluator, path: &str) -> EvalResult<NixString> {
        let tree = read_source(ev, Path::new(path)).map_err(|message| {
            EvalError::invalid_argument(
                "derivation",
                format!("cannot copy `{path}` into the store: {message}"),
            )
        })?;
        let mut hasher = blake3::Hasher::new();
        hash_source(&tree, &mut hasher);
        let digest = Digest::from_hasher(&hasher);
        let name = Path::new(path).file_name().map_or_else(
            || "source".to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        let mut drv = Derivation::new(name, COPY_PATH);
        drv.fixed_output = Some(format!("blake3-tree:{}", digest.to_hex()));
        let id = drv.id();
        let (_, out_path) = self
            .record(drv)
            .map_err(|m| EvalError::invalid_argument("derivation", m))?;
        self.sources
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(id, tree);
        let context: BTreeSet<Box<str>> = [out_path.clone().into_boxed_str()].into_iter().collect();
        Ok(NixString::with_context(out_path, Some(Box::new(context))))
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
                let s = self.copy_path(ev, path)?;
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

impl kiln_eval::StoreHost for Host {
    fn derivation_strict(&self, ev: &mut Evaluator, attrs: &Attrs) -> EvalResult<Value> {
        let bad = |message: String| EvalError::invalid_argument("derivation", message);
        let name_value = attrs
            .get_str("name")
            .cloned()
            .ok_or_else(|| bad("required attribute `name` missing".into()))?;
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
        if !self.builders.contains(builder.as_str()) {
            let known: Vec<&str> = self.builders.iter().copied().collect();
            return Err(bad_here(format!(
                "unknown builder `{builder}`; kiln's builders are native: {}",
                known.join(", ")
            )));
        }
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
        let (drv_path, out_path) = self.record(drv).map_err(bad_here)?;
        Ok(outputs_value(&drv_path, &out_path))
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

fn read_source(ev: &Evaluator, path: &Path) -> Result<SourceTree, String> {
    use kiln_eval::FileType;
    let loader = ev.loader();
    let kind = loader.file_type(path).map_err(|e| e.to_string())?;
    Ok(match kind {
        FileType::Directory => {
            let mut entries = BTreeMap::new();
            for (name, _) in loader.read_dir(path).map_err(|e| e.to_string())? {
                entries.insert(name.clone(), read_source(ev, &path.join(&name))?);
            }
            SourceTree::Dir(entries)
        }
        FileType::Symlink => {
            let target = std::fs::read_link(path).map_err(|e| e.to_string())?;
            SourceTree::Symlink(target.to_string_lossy().into_owned())
        }
        FileType::Regular => {
            let bytes = loader.read_file(path).map_err(|e| e.to_string())?;
            let executable = executable(path);
            SourceTree::File { bytes, executable }
        }
        FileType::Unknown => {
            return Err(format!(
                "`{}` is not a file, directory or symlink",
                path.display()
            ))
        }
    })
}

fn executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o111 != 0)
}

fn hash_source(tree: &SourceTree, hasher: &mut blake3::Hasher) {
    fn field_of(hasher: &mut blake3::Hasher, tag: &[u8], bytes: &[u8]) {
        hasher.update(tag);
        hasher.update(&(bytes.len() as u64).to_le_bytes());
        hasher.update(bytes);
    }
    let field =
        |hasher: &mut blake3::Hasher, tag: &[u8], bytes: &[u8]| field_of(hasher, tag, bytes);
    match tree {
        SourceTree::File { bytes, executable } => {
            field(hasher, if *executable { b"exe" } else { b"file" }, bytes);
        }
        SourceTree::Symlink(target) => field(hasher, b"symlink", target.as_bytes()),
        SourceTree::Dir(entries) => {
            field(hasher, b"dir", &(entries.len() as u64).to_le_bytes());
            for (name, entry) in entries {
                field(hasher, b"name", name.as_bytes());
                hash_source(entry, hasher);
            }
        }
    }
}

/// Writes a source tree at `out` (the `copy-path` builder).
pub(crate) fn write_source(tree: &SourceTree, out: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    match tree {
        SourceTree::File { bytes, executable } => {
            std::fs::write(out, bytes)?;
            let mode = if *executable { 0o555 } else { 0o444 };
            std::fs::set_permissions(out, std::fs::Permissions::from_mode(mode))
        }
        SourceTree::Symlink(target) => std::os::unix::fs::symlink(target, out),
        SourceTree::Dir(entries) => {
            std::fs::create_dir(out)?;
            for (name, entry) in entries {
                write_source(entry, &out.join(name))?;
            }
            Ok(())
        }
    }
}
