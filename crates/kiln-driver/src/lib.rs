//! kiln-driver: joins the language half (syntax, eval, module) and the artifact half (store,
//! debian, image). It gives the evaluator `derivation` and a `pkgs` of Debian packages, turns the
//! derivation values a profile produces into a [`kiln_store::Graph`], and registers the native
//! builders that realise it.
//!
//! ```no_run
//! use kiln_driver::{Session, SessionOptions};
//! # fn main() -> Result<(), kiln_driver::DriverError> {
//! let profile = std::path::Path::new("profiles/installer/cd-dvd/installation-cd-minimal.nix");
//! let session = Session::open(SessionOptions::for_profile(profile))?;
//! let mut ev = session.evaluator(Default::default());
//! let result = session.eval_profile(&mut ev, profile)?;
//! let iso = kiln_driver::select(&mut ev, &result, "config.system.build.isoImage")?;
//! let targets = session.targets(&mut ev, &iso)?;
//! let paths = session.realise(&targets, &Default::default(), &kiln_store::Quiet)?;
//! println!("{}", paths[0].display());
//! # Ok(()) }
//! ```

mod builders;
mod error;
mod host;
mod kbuild;
mod pkgs;
mod session;

pub use error::DriverError;
pub use host::Host;
pub use kbuild::{KbuildModule, KBUILD_MODULE};
pub use session::{lock_path_for, Plan, PlanStep, Session, SessionOptions};

use kiln_eval::{AttrEntry, EvalResult, Evaluator, Symbol, Value};

pub(crate) fn attr(name: &str, value: Value) -> AttrEntry {
    AttrEntry {
        name: Symbol::intern(name),
        value,
        pos: None,
    }
}

/// Selects a dotted attribute path (`config.system.build.isoImage`) from a value.
pub fn select(ev: &mut Evaluator, value: &Value, path: &str) -> EvalResult<Value> {
    let mut current = value.clone();
    for part in path.split('.').filter(|p| !p.is_empty()) {
        let attrs = ev.force_attrs(&current)?;
        current = match attrs.get_str(part) {
            Some(v) => v.clone(),
            None => {
                return Err(kiln_eval::EvalError::invalid_argument(
                    "build",
                    format!("attribute `{part}` of `{path}` does not exist"),
                ))
            }
        };
    }
    Ok(current)
}
