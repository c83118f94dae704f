//! `import`, `scopedImport` and the search path (`<name/sub>`).
//!
//! An imported file is read through the [`crate::Loader`], parsed, compiled and evaluated
//! once; the result is cached per canonical path. Importing a directory imports its
//! `default.nix`. `scopedImport` is not cached, as in Nix, because its result depends on the
//! scope.

use crate::error::{ErrorKind, EvalError, EvalResult};
use crate::loader::FileType;
use crate::ops::Coerce;
use crate::value::{Attrs, Value};
use crate::Evaluator;
use kiln_syntax::canon_path;
use std::path::Path;

impl Evaluator {
    /// Coerces a value to an absolute path string (`coerceToPath`).
    pub fn coerce_to_path(&mut self, value: &Value) -> EvalResult<String> {
        let s = self.coerce_to_string(value, Coerce::KeepPaths)?;
        self.check_absolute(s.as_str())?;
        Ok(s.as_str().to_string())
    }

    /// `coerceToPath`'s check: a path is absolute.
    pub(crate) fn check_absolute(&self, path: &str) -> EvalResult<()> {
        if path.starts_with('/') {
            Ok(())
        } else {
            Err(EvalError::new(ErrorKind::Unsupported {
                message: format!("string '{path}' doesn't represent an absolute path"),
            }))
        }
    }

    /// The file an import of `path` reads: `path` itself, or its `default.nix`.
    fn resolve_import(&mut self, path: &str) -> EvalResult<String> {
        let path = canon_path(path);
        if crate::corepkgs::file(&path).is_some() {
            return Ok(path);
        }
        match self.loader.file_type(Path::new(&path)) {
            Ok(FileType::Directory) => {
                let default = format!("{}/default.nix", path.trim_end_matches('/'));
                if self.loader.exists(Path::new(&default)) {
                    Ok(default)
                } else {
                    Err(EvalError::new(ErrorKind::NoDefaultNix { path }))
                }
            }
            Ok(FileType::Symlink) if self.loader.exists(Path::new(&format!("{path}/"))) => {
                let default = format!("{path}/default.nix");
                if self.loader.exists(Path::new(&default)) {
                    Ok(default)
                } else {
                    Err(EvalError::new(ErrorKind::NoDefaultNix { path }))
                }
            }
            Ok(_) => Ok(path),
            Err(e) => Err(EvalError::new(ErrorKind::Io {
                operation: "getting status of",
                path,
                message: io_message(&e),
            })),
        }
    }

    fn load_file(&mut self, path: &str) -> EvalResult<kiln_syntax::ast::Expr> {
        if let Some(text) = crate::corepkgs::file(path) {
            let file = self.sources.add_file(Path::new(path), text);
            return crate::parse_shim::parse(&self.sources, file);
        }
        let bytes = self.loader.read_file(Path::new(path)).map_err(|e| {
            EvalError::new(ErrorKind::Io {
                operation: "opening file",
                path: path.to_string(),
                message: io_message(&e),
            })
        })?;
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let file = self.sources.add_file(Path::new(path), text);
        crate::parse_shim::parse(&self.sources, file)
    }

    /// `import path`.
    pub fn import(&mut self, path_value: &Value) -> EvalResult<Value> {
        let path = self.realise_path(path_value)?;
        let path = self.resolve_import(&path)?;
        if let Some(v) = self.import_cache.get(&path) {
            return Ok(v.clone());
        }
        let ast = self.load_file(&path)?;
        let value = self
            .eval_ast(&ast)
            .map_err(|e| e.frame(None, || format!("while importing `{path}`")))?;
        self.import_cache.insert(path, value.clone());
        Ok(value)
    }

    /// `scopedImport scope path`.
    pub fn scoped_import(&mut self, scope: &Attrs, path_value: &Value) -> EvalResult<Value> {
        let path = self.realise_path(path_value)?;
        let path = self.resolve_import(&path)?;
        let ast = self.load_file(&path)?;
        self.eval_scoped(&ast, scope)
            .map_err(|e| e.frame(None, || format!("while importing `{path}`")))
    }

    /// `__findFile searchPath "name/sub"`: the first entry whose prefix matches and under
    /// which the file exists.
    pub fn find_file(&mut self, search_path: &Value, name: &str) -> EvalResult<Value> {
        let entries = self.force_list(search_path)?;
        let prefix_sym = crate::Symbol::intern("prefix");
        let path_sym = crate::Symbol::intern("path");
        for entry in entries.iter() {
            let entry = self.force_attrs(entry)?;
            let prefix = match entry.get(prefix_sym) {
                Some(p) => self.force_string(&p.clone())?.as_str().to_string(),
                None => String::new(),
            };
            let Some(path) = entry.get(path_sym).cloned() else {
                return Err(EvalError::new(ErrorKind::BuiltinMissingAttr {
                    name: "path".into(),
                    builtin: "findFile",
                    suggestions: Vec::new(),
                }));
            };
            let base = self
                .coerce_to_string(&path, Coerce::KeepPaths)?
                .as_str()
                .to_string();
            let candidate = if prefix.is_empty() {
                format!("{base}/{name}")
            } else if name == prefix {
                base
            } else if let Some(rest) = name.strip_prefix(&prefix).filter(|r| r.starts_with('/')) {
                format!("{base}{rest}")
            } else {
                continue;
            };
            if candidate.starts_with('/') && self.loader.exists(Path::new(&candidate)) {
                return Ok(Value::path(canon_path(&candidate)));
            }
        }
        // nix's last resort: `<nix/…>` names its built-in `corepkgs` (see `corepkgs.rs`).
        if let Some(rest) = name.strip_prefix("nix/") {
            return Ok(Value::path(format!("{}/{rest}", crate::corepkgs::DIR)));
        }
        Err(EvalError::new(ErrorKind::Catchable(
            crate::error::Catchable::SearchPath {
                name: name.to_string(),
            },
        )))
    }
}

fn io_message(e: &std::io::Error) -> String {
    crate::error::system_message(e)
}
