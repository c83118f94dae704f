//! kiln-driver: joins the language half (syntax, eval, module) and the artifact half (store,
//! debian, image). It gives the evaluator `derivation` and a `pkgs` of Debian packages, turns the
//! derivation values a profile produces into a [`kiln_store::Graph`], and registers the native
//! builders that realise it.

mod kbuild;
pub use kbuild::{KbuildModule, KBUILD_MODULE};
