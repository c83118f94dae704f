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
//! - [`eval_profile`] evaluates a profile to `{ config; options; }`, lazily;
//! - [`explain`] tells why an option has its value; [`options_list`] lists the declared options;
//! - [`report`] turns an evaluation error into a miette report, with spans on the definitions
//!   when it is a module error (conflict, undeclared option, type mismatch, ...).
//!
//! Packages: until kiln can fetch Debian packages (issue 5), profiles receive the placeholder set
//! of `placeholder_pkgs`, whose packages have no store path yet.
//!
//! ```
//! let mut ev = kiln_module::evaluator(kiln_eval::EvalOptions::default());
//! let profile = std::path::Path::new(kiln_module::DEFAULT_PROFILE);
//! let result = kiln_module::eval_profile(&mut ev, profile).unwrap();
//! let explanation = kiln_module::explain(&mut ev, &result, "isoImage.edition").unwrap();
//! assert_eq!(explanation.value, "\"minimal\"");
//! assert!(explanation.reason().contains("mkDefault (1000)"));
//! ```

mod diagnostic;
mod embedded;
mod explain;
#[cfg(test)]
mod merge_laws;
mod placeholder_pkgs;
mod profile;

pub use diagnostic::{parse_module_error, report, DefinitionSite, ModuleError, ModuleErrorKind};
pub use embedded::{search_path_entry, LibLoader, LIB_ROOT};
pub use explain::{explain, priority_name, Definition, Explanation};
pub use placeholder_pkgs::{no_store_path_message, placeholder_pkgs, PACKAGES};
pub use profile::{
    eval_modules, eval_modules_with, eval_profile, eval_profile_with, evaluator, lib,
    option_has_prefix, options_json, options_list, OptionInfo, DEFAULT_PROFILE, EVAL_CONFIG,
};
