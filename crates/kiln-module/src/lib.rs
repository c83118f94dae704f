//! kiln-module: the NixOS-style module system, the `lib` profiles receive, and the profile library.
//!
//! The semantics are written in the Nix language (`lib/*.nix`, see `lib/README.md`; the profile
//! library in the workspace's `profiles/`): they are clearer there, `nix-instantiate` can run them
//! as an oracle, and kiln's evaluator runs them unchanged. This crate embeds those files in the
//! binary (`embedded`), serves them at the virtual directory `/@kiln` (so `import <kiln/lib>`
//! works from any expression and any checkout), and gives Rust callers — the CLI, the REPL — a
//! small door:
//!
//! - [`evaluator`] makes an evaluator that reads the embedded files;
//! - [`evaluate`] is every command's way in: an expression, a file or a profile, auto-called
//!   and selected from (`-A`), as `nix-instantiate` does ([`request`](crate::Request));
//! - [`eval_profile`] evaluates a profile to `{ config; options; lib; pkgs; }`, lazily;
//! - [`explain`] tells why an option has its value; [`options_list`] lists the declared options;
//! - [`report`] turns an evaluation error into a miette report, with spans on the definitions
//!   when it is a module error (conflict, undeclared option, type mismatch, ...).
//!
//! Packages are the caller's: kiln-driver passes Debian's, pinned by `kiln.lock`. This crate
//! stays on the language side and never touches a store.
//!
//! ```
//! let mut ev = kiln_module::evaluator(kiln_eval::EvalOptions::default());
//! let profile = std::path::Path::new(kiln_module::DEFAULT_PROFILE);
//! // A stand-in package set: `isoImage.edition` needs none.
//! let pkgs = kiln_eval::Value::Attrs(kiln_eval::Attrs::empty());
//! let result = kiln_module::eval_profile(&mut ev, profile, pkgs).unwrap();
//! let explanation = kiln_module::explain(&mut ev, &result, "isoImage.edition").unwrap();
//! assert_eq!(explanation.value, "\"minimal\"");
//! assert!(explanation.reason().contains("mkDefault (1000)"));
//! ```

mod diagnostic;
mod embedded;
mod explain;
#[cfg(test)]
mod merge_laws;
mod profile;
mod request;

pub use diagnostic::{parse_module_error, report, DefinitionSite, ModuleError, ModuleErrorKind};
pub use embedded::{search_path_entry, LibLoader, EMBEDDED_LOCK, LIB_ROOT};
pub use explain::{explain, priority_name, Definition, Explanation};
pub use profile::{
    eval_modules, eval_profile, evaluator, lib, option_has_prefix, options_json, options_list,
    OptionInfo, DEFAULT_PROFILE, EVAL_CONFIG,
};
pub use request::{evaluate, is_profile, AutoArg, Call, Evaluated, Kind, Request, Source};
