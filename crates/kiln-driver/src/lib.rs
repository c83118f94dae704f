//! kiln-driver: joins the language half (syntax, eval, module) and the artifact half (store,
//! debian, builders). A [`Session`] gives the evaluator a store (`derivation`, paths added by
//! content, `builtins.path`, `toFile`, `fetchGit` of local repositories) and `pkgs`, Debian's
//! packages pinned by `kiln.lock`;
//! every command evaluates through [`Session::evaluate`], and `kiln build` realises the
//! derivations evaluation recorded with kiln-builders' native builders.
//!
//! ```no_run
//! use kiln_driver::{Session, SessionOptions};
//! use kiln_module::{Kind, Request, Source};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let source = Source::File("profiles/installer/cd-dvd/installation-cd-minimal.nix".into());
//! let session = Session::open(SessionOptions::for_build(&source))?;
//! let mut ev = session.evaluator(Default::default());
//! let request = Request {
//!     source,
//!     kind: Kind::Auto,
//!     attr_paths: vec!["config.system.build.isoImage".into()],
//!     auto_args: Vec::new(),
//!     call: kiln_module::Call::Always,
//!     cwd: std::env::current_dir()?,
//! };
//! let evaluated = session.evaluate(&mut ev, &request)?;
//! let targets = session.targets(&mut ev, &evaluated.selected[0])?;
//! let paths = session.realise(&targets, &Default::default(), &kiln_store::Quiet)?;
//! println!("{}", paths[0].display());
//! # Ok(()) }
//! ```

mod error;
mod git;
mod host;
mod pkgs;
mod session;

pub use error::DriverError;
pub use host::Host;
pub use session::{
    lock_path_for, CheckDifference, CheckVerdict, LockFile, Plan, PlanStep, Session, SessionOptions,
};

use kiln_eval::{AttrEntry, Symbol, Value};

pub(crate) fn attr(name: &str, value: Value) -> AttrEntry {
    AttrEntry {
        name: Symbol::intern(name),
        value,
        pos: None,
    }
}
