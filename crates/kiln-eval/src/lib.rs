//! kiln-eval: lazy evaluation of the Nix expression language, with Nix 2.8's semantics.
//!
//! The pipeline is `kiln_syntax::parse` → [`compile`] (variables resolved to slots) →
//! [`Evaluator`] (call-by-need interpreter) → [`print`] (the bytes `nix-instantiate --eval`
//! prints). Files are read only through a [`Loader`].
//!
//! ```
//! use kiln_eval::{Evaluator, EvalOptions, FsLoader};
//! let mut ev = Evaluator::new(EvalOptions::default(), Box::new(FsLoader));
//! let file = ev.sources_mut().add_virtual("«string»", std::path::Path::new("/"), "[ (1 + 2) ]");
//! let value = ev.eval_source(file).unwrap();
//! assert_eq!(ev.print(&value, true).unwrap(), "[ 3 ]");
//! ```

mod attr_path;
pub mod builtins;
mod call;
mod compile;
mod corepkgs;
mod error;
mod eval;
mod gc;
mod globals;
mod host;
mod import;
mod ir;
mod loader;
mod ops;
mod overrides;
mod parse_shim;
pub mod print;
mod symbol;
mod value;

pub use builtins::Builtin;
pub use call::suggest;
pub use compile::pos_value;
pub use error::{
    assertion_condition, message_position, system_message, Catchable, ErrorKind, EvalError,
    EvalResult, Frame, Report, SelectionFailure, DEFAULT_TRACE_FRAMES,
};
pub use eval::Evaluator;
pub use gc::CollectStats;
pub use host::{AddPath, FetchGit, FetchedGit, StoreHost};
pub use loader::{FileType, FsLoader, Loader};
pub use ops::Coerce;
pub use symbol::Symbol;
pub use value::{AttrEntry, Attrs, Closure, Context, List, NixString, PrimOpApp, Thunk, Value};

/// One entry of the search path: `-I name=path` (`prefix` = `name`) or `-I path`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SearchPathEntry {
    pub prefix: Option<String>,
    pub path: String,
}

impl SearchPathEntry {
    /// Parses `name=path` or `path`, as `-I` and `NIX_PATH` entries.
    pub fn parse(entry: &str) -> SearchPathEntry {
        match entry.split_once('=') {
            Some((prefix, path)) => SearchPathEntry {
                prefix: Some(prefix.to_string()),
                path: path.to_string(),
            },
            None => SearchPathEntry {
                prefix: None,
                path: entry.to_string(),
            },
        }
    }
}

/// Settings of one evaluation.
#[derive(Clone, Debug)]
pub struct EvalOptions {
    /// `-I` entries first, then `NIX_PATH`'s, in order.
    pub search_path: Vec<SearchPathEntry>,
    /// `builtins.currentTime`.
    pub current_time: i64,
    /// Whether `builtins.trace` writes to stderr.
    pub trace_to_stderr: bool,
    /// Evaluation steps allowed before a `step_limit` error (fuzzing, untrusted input).
    pub max_steps: u64,
    /// Run the cycle collector (see [`Evaluator::collect_cycles`]) during the evaluation each time
    /// this many recursive environments have been made; `None`, the default, only when asked.
    /// Small values are for tests: they check that collecting at any point is invisible.
    pub collect_cycles_every: Option<u64>,
    /// `builtins.storeDir`: the store the [`StoreHost`] writes to (`/nix/store` without one).
    pub store_dir: String,
}

impl Default for EvalOptions {
    fn default() -> EvalOptions {
        EvalOptions {
            search_path: Vec::new(),
            current_time: 0,
            trace_to_stderr: true,
            max_steps: u64::MAX,
            collect_cycles_every: None,
            store_dir: "/nix/store".to_string(),
        }
    }
}
