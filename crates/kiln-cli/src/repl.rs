//! `kiln repl`'s session: the scope of names bound at the prompt or loaded, and what each
//! input does. The terminal side (line editor, history, Ctrl-C) is in [`terminal`]; this part
//! takes text and returns text, so unit tests drive it directly.
//!
//! Semantics follow nix repl 2.8: `x = expr` binds lazily and prints nothing; a plain
//! expression prints one level deep ([`print`]); `:l` and `:a` add a set's attributes to the
//! scope; `:r` starts over (prompt bindings are dropped, the files are read again); an error is
//! reported and the session goes on. Given a profile (see [`profile`]), `config`, `options`,
//! `lib` and `pkgs` are in scope, and `:explain` and `:doc` know its options.

pub(crate) mod command;
mod complete;
mod doc;
mod error;
mod highlight;
mod print;
mod profile;
pub(crate) mod terminal;

use command::Command;
use error::ReplError;
use kiln_eval::{
    AttrEntry, Attrs, ErrorKind, EvalError, EvalOptions, Evaluator, SearchPathEntry, Symbol, Thunk,
    Value,
};
use kiln_syntax::ast;
use print::Depth;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Settings of a session, from the command line.
#[derive(Clone, Debug, Default)]
pub(crate) struct SessionOptions {
    /// `-I` entries, then `NIX_PATH`'s; `<kiln/lib>` is added after them.
    pub(crate) search_path: Vec<SearchPathEntry>,
    /// ANSI colours in printed values.
    pub(crate) color: bool,
    /// Show every frame of an error's trace.
    pub(crate) show_trace: bool,
    /// The store `:b` builds into (default: `$KILN_STORE`, else the user's cache).
    pub(crate) store: Option<PathBuf>,
    /// The file whose `kiln.lock` pins `pkgs` (the first file on the command line); without
    /// one, the current directory's.
    pub(crate) lock_from: Option<PathBuf>,
}

/// What the loop does after an input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Flow {
    Continue,
    Quit,
}

/// Something loaded into scope, kept so that `:r` can load it again.
#[derive(Clone, Debug)]
struct Loaded {
    path: PathBuf,
    /// Whether it loaded as a profile (`kiln_module::evaluate` decides).
    profile: bool,
}

/// One REPL session.
pub(crate) struct Session {
    ev: Evaluator,
    options: SessionOptions,
    cwd: PathBuf,
    /// Every name in scope, sorted; a later binding of a name replaces the earlier one.
    scope: BTreeMap<String, Value>,
    /// What the command line and `:l` loaded, in order.
    loaded: Vec<Loaded>,
    /// Set by the SIGINT handler; the evaluator polls it. Cleared before each input.
    interrupt: Arc<AtomicBool>,
    /// The store side: `derivation`, `pkgs` from the lock (offline, adding nothing), `:b`.
    driver: kiln_driver::Session,
}

impl Session {
    pub(crate) fn new(options: SessionOptions, cwd: PathBuf) -> Result<Session, miette::Report> {
        let interrupt = Arc::new(AtomicBool::new(false));
        let source = match &options.lock_from {
            Some(file) => kiln_module::Source::File(cwd.join(file)),
            None => kiln_module::Source::Expr {
                text: String::new(),
                dir: cwd.clone(),
            },
        };
        let mut driver_options = kiln_driver::SessionOptions::for_evaluation(&source);
        if let Some(store) = &options.store {
            driver_options.store = store.clone();
        }
        let driver = kiln_driver::Session::open(driver_options)?;
        let ev = new_evaluator(&driver, &options, &interrupt);
        Ok(Session {
            ev,
            options,
            cwd,
            scope: BTreeMap::new(),
            loaded: Vec::new(),
            interrupt,
            driver,
        })
    }

    /// The flag that interrupts a running evaluation when set.
    pub(crate) fn interrupt_flag(&self) -> Arc<AtomicBool> {
        self.interrupt.clone()
    }

    /// Loads a file into scope: a profile's `config`, `options`, `lib` and `pkgs`, or the
    /// attributes of any other file's set (called with no arguments if it is a function).
    pub(crate) fn load(&mut self, path: &str, out: &mut String) -> Result<(), miette::Report> {
        self.interrupt.store(false, Ordering::Relaxed);
        let path = self.resolve(path);
        let profile = self.load_again(&path, out)?;
        self.loaded.retain(|l| l.path != path);
        self.loaded.push(Loaded { path, profile });
        Ok(())
    }

    /// Runs one complete input, appending what it prints to `out`. An `Err` is a report to
    /// show; the session goes on after it.
    pub(crate) fn execute(
        &mut self,
        input: &str,
        out: &mut String,
    ) -> Result<Flow, miette::Report> {
        self.interrupt.store(false, Ordering::Relaxed);
        match command::parse_command(input) {
            Command::Empty => {}
            Command::Quit => return Ok(Flow::Quit),
            Command::Help => out.push_str(&help()),
            Command::Eval(text) => {
                let value = self.eval(text)?;
                let printed =
                    print::print_value(&mut self.ev, &value, Depth::Shallow, self.options.color);
                out.push_str(&self.check(printed)?);
                out.push('\n');
            }
            Command::Print(text) => {
                let value = self.eval(text)?;
                let printed =
                    print::print_value(&mut self.ev, &value, Depth::Strict, self.options.color);
                out.push_str(&self.check(printed)?);
                out.push('\n');
            }
            Command::Type(text) => {
                let value = self.eval(text)?;
                let value = self.ev.force(&value);
                let value = self.check(value)?;
                out.push_str(&print::describe_type(&value));
                out.push('\n');
            }
            Command::Bind { name, expr } => {
                let ast = self.parse(expr)?;
                let scope = self.scope_attrs();
                // Undefined variables are reported now, as nix repl does: compiling `_: EXPR`
                // resolves every name without evaluating anything.
                let unevaluated = ast::Expr {
                    span: ast.span,
                    kind: ast::ExprKind::Lambda(Box::new(ast::Lambda {
                        arg: None,
                        formals: None,
                        body: ast.clone(),
                    })),
                };
                let compiled = self.ev.eval_scoped(&unevaluated, &scope);
                self.check(compiled)?;
                let value = Thunk::native(move |ev| ev.eval_scoped(&ast, &scope));
                self.scope.insert(name.to_string(), value);
            }
            Command::Add(text) => {
                let value = self.eval(text)?;
                self.add_to_scope(&value, out)?;
            }
            Command::Load(path) => self.load(path, out)?,
            Command::Reload => self.reload(out)?,
            Command::Doc(name) => {
                let text = doc::doc(self, name)?;
                out.push_str(&text);
            }
            Command::Explain(option) => {
                let options = self.profile_options()?;
                let result = Value::Attrs(Attrs::from_entries(vec![AttrEntry {
                    name: Symbol::intern("options"),
                    value: options,
                    pos: None,
                }]));
                let name = profile::strip_prefix(option);
                let explanation = kiln_module::explain(&mut self.ev, &result, name);
                // Files under the current directory are shown relative to it.
                let text = self.check(explanation)?.to_string();
                out.push_str(&text.replace(&format!("{}/", self.cwd.display()), ""));
            }
            Command::Build(text) => {
                let value = self.eval(text)?;
                let value = self.ev.force(&value);
                let value = self.check(value)?;
                let is_drv = print::is_derivation(&mut self.ev, &value);
                if !self.check(is_drv)? {
                    return Err(ReplError::NotADerivation {
                        got: print::describe_type(&value),
                    }
                    .into());
                }
                self.build(&value, out)?;
            }
            Command::MissingArgument(command) => {
                return Err(ReplError::MissingArgument { command }.into())
            }
            Command::Unknown(command) => {
                return Err(ReplError::UnknownCommand {
                    command: command.to_string(),
                }
                .into())
            }
        }
        Ok(Flow::Continue)
    }

    /// The names in scope: the session's own, then the base environment's.
    pub(crate) fn scope_names(&self) -> impl Iterator<Item = &str> {
        self.scope
            .keys()
            .map(String::as_str)
            .chain(kiln_syntax::BASE_ENV_NAMES.iter().copied())
    }

    // ----- helpers -----

    fn parse(&mut self, text: &str) -> Result<kiln_syntax::ast::Expr, miette::Report> {
        let file = self
            .ev
            .sources_mut()
            .add_virtual("«string»", &self.cwd, text);
        kiln_syntax::parse(self.ev.sources(), file).map_err(miette::Report::new)
    }

    /// Parses and evaluates `text` in the session's scope, to weak head normal form.
    fn eval(&mut self, text: &str) -> Result<Value, miette::Report> {
        let ast = self.parse(text)?;
        let scope = self.scope_attrs();
        let value = self.ev.eval_scoped(&ast, &scope);
        self.check(value)
    }

    /// [`Session::eval`] without a report, for completion.
    fn eval_quietly(&mut self, text: &str) -> Option<Value> {
        self.interrupt.store(false, Ordering::Relaxed);
        let file = self
            .ev
            .sources_mut()
            .add_virtual("«string»", &self.cwd, text);
        let ast = kiln_syntax::parse(self.ev.sources(), file).ok()?;
        let scope = self.scope_attrs();
        let value = self.ev.eval_scoped(&ast, &scope).ok()?;
        self.ev.force(&value).ok()
    }

    /// Turns an evaluation error into a report.
    fn check<T>(&self, result: Result<T, EvalError>) -> Result<T, miette::Report> {
        result.map_err(|err| {
            if matches!(err.kind(), ErrorKind::Interrupted) {
                return ReplError::Interrupted.into();
            }
            let max_frames = if self.options.show_trace {
                None
            } else {
                Some(kiln_eval::DEFAULT_TRACE_FRAMES)
            };
            kiln_module::report(&self.ev, &err, max_frames)
        })
    }

    fn scope_attrs(&self) -> Attrs {
        Attrs::from_entries(
            self.scope
                .iter()
                .map(|(name, value)| AttrEntry {
                    name: Symbol::intern(name),
                    value: value.clone(),
                    pos: None,
                })
                .collect(),
        )
    }

    fn resolve(&self, path: &str) -> PathBuf {
        let path = Path::new(path);
        let path = match path.strip_prefix("~") {
            Ok(rest) => std::env::var_os("HOME")
                .map_or_else(|| path.to_path_buf(), |home| Path::new(&home).join(rest)),
            Err(_) => self.cwd.join(path),
        };
        PathBuf::from(kiln_syntax::canon_path(&path.to_string_lossy()))
    }

    /// Nix's `addAttrsToScope`.
    fn add_to_scope(&mut self, value: &Value, out: &mut String) -> Result<(), miette::Report> {
        let attrs = self.ev.force_attrs(value);
        let attrs = self.check(attrs)?;
        for entry in attrs.iter() {
            self.scope
                .insert(entry.name.as_str().to_string(), entry.value.clone());
        }
        let _ = writeln!(out, "Added {} variables.", attrs.len());
        Ok(())
    }

    /// Evaluates `path` as `kiln_module::evaluate` does for an explored file and brings it
    /// into scope; returns whether it was a profile.
    fn load_again(&mut self, path: &Path, out: &mut String) -> Result<bool, miette::Report> {
        let request = kiln_module::Request {
            source: kiln_module::Source::File(path.to_path_buf()),
            kind: kiln_module::Kind::Explore,
            attr_paths: Vec::new(),
            auto_args: Vec::new(),
            call: kiln_module::Call::Always,
            cwd: self.cwd.clone(),
        };
        let evaluated = self.driver.evaluate(&mut self.ev, &request);
        let evaluated = self.check(evaluated)?;
        if !evaluated.profile {
            self.add_to_scope(&evaluated.selected[0], out)?;
            return Ok(false);
        }
        let root = self.ev.force_attrs(&evaluated.root);
        let root = self.check(root)?;
        let mut names = Vec::new();
        for name in ["config", "lib", "options", "pkgs"] {
            if let Some(value) = root.get_str(name) {
                self.scope.insert(name.to_string(), value.clone());
                names.push(name);
            }
        }
        let _ = writeln!(
            out,
            "Loaded profile {}; {} are in scope.",
            path.strip_prefix(&self.cwd).unwrap_or(path).display(),
            names.join(", ")
        );
        Ok(true)
    }

    /// `:b`: realises a derivation value and prints its output, as nix repl does.
    fn build(&mut self, value: &Value, out: &mut String) -> Result<(), miette::Report> {
        let targets = self.driver.targets(&mut self.ev, value);
        let targets = self.check(targets)?;
        let driver = &self.driver;
        let progress = crate::progress::Progress::new(driver.plan(&targets)?.missing.len());
        let paths = driver.realise(&targets, &kiln_store::RealiseOptions::default(), &progress);
        progress.finish();
        let _ = writeln!(out, "This derivation produced the following outputs:");
        for path in paths? {
            let _ = writeln!(out, "  out -> {}", path.display());
        }
        Ok(())
    }

    /// `:r`: a fresh evaluator (so changed files are read again) and scope.
    fn reload(&mut self, out: &mut String) -> Result<(), miette::Report> {
        self.ev = new_evaluator(&self.driver, &self.options, &self.interrupt);
        self.scope.clear();
        // The previous evaluation's values are unreachable now, but its `let` and `rec`
        // environments form reference cycles that only the cycle collector frees.
        self.ev.collect_cycles();
        for loaded in self.loaded.clone() {
            self.load_again(&loaded.path, out)?;
        }
        Ok(())
    }

    /// The `options` of the loaded profile.
    fn profile_options(&mut self) -> Result<Value, miette::Report> {
        match self.scope.get("options") {
            Some(options) if self.loaded.iter().any(|l| l.profile) => Ok(options.clone()),
            _ => Err(ReplError::NoProfile.into()),
        }
    }
}

fn new_evaluator(
    driver: &kiln_driver::Session,
    options: &SessionOptions,
    interrupt: &Arc<AtomicBool>,
) -> Evaluator {
    let search_path = options.search_path.clone();
    let current_time = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    let eval_options = EvalOptions {
        search_path,
        current_time,
        trace_to_stderr: true,
        ..EvalOptions::default()
    };
    let mut ev = driver.evaluator(eval_options);
    ev.set_interrupt(interrupt.clone());
    ev
}

/// `:?`
fn help() -> String {
    let mut out = String::from("The following commands are available:\n\n");
    for (name, alias, arg, text) in command::COMMANDS {
        let usage = if arg.is_empty() {
            name.to_string()
        } else {
            format!("{name} {arg}")
        };
        let alias = if alias.is_empty() {
            String::new()
        } else {
            format!(" (or {alias})")
        };
        let _ = writeln!(out, "  {usage:<20} {text}{alias}");
    }
    out.push_str("\n`kiln repl PROFILE` brings `config`, `options`, `lib` and `pkgs` into scope; `import <kiln/lib>` is kiln's lib.\n");
    out
}

#[cfg(test)]
mod tests;
